"""The risk posture: schema, loading, presets, hashing, diff, explain, compiled limits."""

from riskguard.config.diff import SettingChange, diff
from riskguard.config.errors import PostureError
from riskguard.config.hashing import canonical_json, config_hash
from riskguard.config.limits import Limits, StrategyLimits, SymbolLimits, compile_limits
from riskguard.config.loader import PRESETS, env_overrides, load_config, preset, preset_data, validate_posture
from riskguard.config.schema import Posture

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
