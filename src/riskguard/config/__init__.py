"""The risk posture: schema, loading, presets, hashing, comparison (diff), compiled limits."""

from typing import TYPE_CHECKING

from riskguard.lazy import lazy_exports

if TYPE_CHECKING:
    from riskguard.config.compare import SettingChange, diff
    from riskguard.config.errors import PostureError
    from riskguard.config.hashing import canonical_json, config_hash
    from riskguard.config.limits import Limits, StrategyLimits, SymbolLimits, compile_limits
    from riskguard.config.loader import env_overrides, load_config, preset, preset_data, validate_posture
    from riskguard.config.preset_names import PRESETS
    from riskguard.config.schema import Posture

# Imported on first use: a posture's schema costs ~0.2 s of start-up that `riskguard --help` need not pay.
__getattr__ = lazy_exports(__name__, {
    "SettingChange": "riskguard.config.compare",
    "diff": "riskguard.config.compare",
    "PostureError": "riskguard.config.errors",
    "canonical_json": "riskguard.config.hashing",
    "config_hash": "riskguard.config.hashing",
    "Limits": "riskguard.config.limits",
    "StrategyLimits": "riskguard.config.limits",
    "SymbolLimits": "riskguard.config.limits",
    "compile_limits": "riskguard.config.limits",
    "PRESETS": "riskguard.config.preset_names",
    "env_overrides": "riskguard.config.loader",
    "load_config": "riskguard.config.loader",
    "preset": "riskguard.config.loader",
    "preset_data": "riskguard.config.loader",
    "validate_posture": "riskguard.config.loader",
    "Posture": "riskguard.config.schema",
})

__all__ = [
    "PRESETS",
    "Limits",
    "Posture",
    "PostureError",
    "SettingChange",
    "StrategyLimits",
    "SymbolLimits",
    "canonical_json",
    "compile_limits",
    "config_hash",
    "diff",
    "env_overrides",
    "load_config",
    "preset",
    "preset_data",
    "validate_posture",
]
