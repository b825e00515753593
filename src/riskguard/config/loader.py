"""Load postures from YAML / JSON / TOML files, presets, and ``RISKGUARD_*`` environment overrides."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from riskguard.config.errors import PostureError
from riskguard.config.preset_names import PRESETS
from riskguard.config.schema import Posture

ENV_PREFIX = "RISKGUARD_"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PostureError(str(path), [("(file)", f"not UTF-8 text (byte {exc.start})")]) from None
    except OSError as exc:
        raise PostureError(str(path), [("(file)", f"cannot read: {exc.strerror or exc}")]) from None
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise PostureError(str(path), [("(file)", "unknown extension; use .yaml, .yml, .json or .toml")])
    except (yaml.YAMLError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PostureError(str(path), [("(syntax)", str(exc).replace("\n", " "))]) from exc
    if not isinstance(data, dict):
        raise PostureError(str(path), [("(root)", "must be a mapping of sections")])
    return data


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``RISKGUARD_TRADE__MAX_TRADE_NAV_PCT=0.18`` -> ``{"trade": {"max_trade_nav_pct": 0.18}}``.

    Only variables whose first segment is a posture field are taken (so ``RISKGUARD_DB_URL`` and
    friends are left alone). Values are parsed as YAML scalars or flow collections.
    """
    top_level = set(Posture.model_fields)
    overrides: dict[str, Any] = {}
    for key, raw in sorted(environ.items()):
        if not key.startswith(ENV_PREFIX):
            continue
        path = key[len(ENV_PREFIX):].split("__")
        if path[0].lower() not in top_level:
            continue
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = overrides
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return overrides


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into ``base``; keys match case-insensitively (env vars are upper case)."""
    result = dict(base)
    for key, value in override.items():
        target = next((k for k in result if k.lower() == key.lower()), key)
        if isinstance(value, Mapping) and isinstance(result.get(target), dict):
            result[target] = _merge(result[target], value)
        else:
            result[target] = value
    return result


def _lower_field_keys(data: Any, in_keyed_map: bool = False) -> Any:
    """Env segments arrive upper case; lower them except the keys of symbol/strategy maps."""
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        new_key = key if in_keyed_map else key.lower()
        keyed = new_key in ("symbols", "strategies", "correlation_groups", "scores") and not in_keyed_map
        out[new_key] = _lower_field_keys(value, in_keyed_map=keyed)
    return out


def validate_posture(data: dict[str, Any], source: str = "<posture>",
                     environ: Mapping[str, str] | None = None) -> Posture:
    """Validate a posture mapping (after applying env overrides); raise PostureError naming fields."""
    merged = data
    if environ is not None:
        overrides = _lower_field_keys(env_overrides(environ))
        if overrides:
            merged = _merge(data, overrides)
            source = f"{source} (+ {ENV_PREFIX}* overrides)"
    try:
        return Posture.model_validate(merged)
    except ValidationError as exc:
        raise PostureError.from_validation(source, exc) from None


def load_config(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Posture:
    """Load a posture file. ``environ`` defaults to ``os.environ`` (pass ``{}`` to ignore overrides)."""
    file_path = Path(path)
    if not file_path.is_file():
        raise PostureError(str(file_path), [("(file)", "no such file")])
    return validate_posture(_read_file(file_path), str(file_path),
                            os.environ if environ is None else environ)


def preset_data(name: str) -> dict[str, Any]:
    """The raw mapping of a shipped preset."""
    if name not in PRESETS:
        raise PostureError(f"preset {name!r}", [("(name)", f"unknown preset; choose one of {', '.join(PRESETS)}")])
    text = resources.files("riskguard.config").joinpath("presets", f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def preset(name: str, environ: Mapping[str, str] | None = None) -> Posture:
    """A shipped preset (``conservative``, ``moderate``, ``aggressive``); env overrides only if given."""
    return validate_posture(preset_data(name), f"preset {name}", environ)
