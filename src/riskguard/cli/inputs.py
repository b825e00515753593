"""Resolve the CLI's posture and intent arguments (files, presets, shipped examples)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from riskguard.cli.output import InputFileError
from riskguard.config.preset_names import PRESETS
from riskguard.examples import EXAMPLE_PREFIX, example_names, example_path
from riskguard.model.errors import InputValidationError
from riskguard.model.intent import OrderIntent

if TYPE_CHECKING:
    from riskguard.config.schema import Posture

PRESET_PREFIX = "preset:"
DEFAULT_PRESET = "moderate"


_UNITS_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_duration_ms(text: str, option: str = "--since") -> int:
    """``90s``, ``30m``, ``24h``, ``7d``, ``2w`` -> milliseconds; InputFileError naming ``option`` otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if match is None:
        raise InputFileError(option, f"{text!r} is not a duration like 90s, 30m, 24h, 7d or 2w")
    return int(float(match.group(1)) * _UNITS_MS[match.group(2)])


def posture_from_ref(ref: str) -> Posture:
    """``preset:NAME``, ``example:NAME`` or a posture file path, with ``RISKGUARD_*`` environment overrides applied."""
    from riskguard.config.loader import load_config, preset  # the posture schema: pydantic, ~0.2 s

    if ref.startswith(PRESET_PREFIX):
        return preset(ref[len(PRESET_PREFIX):], os.environ)
    if ref.startswith(EXAMPLE_PREFIX):
        try:
            return load_config(example_path(ref))
        except KeyError:
            raise InputFileError(ref, f"no such example; choose one of {', '.join(example_names())}") from None
    return load_config(Path(ref))


def resolve_posture(preset_name: str | None, posture_file: str | None) -> Posture:
    """The posture chosen by ``--preset`` or ``--posture`` (a file, or ``preset:NAME``); the
    ``moderate`` preset when neither is given. Giving both is an error."""
    if preset_name is not None and posture_file is not None:
        raise InputFileError("--preset/--posture", "give one of them, not both")
    if posture_file is not None:
        return posture_from_ref(posture_file)
    return posture_from_ref(PRESET_PREFIX + (preset_name or DEFAULT_PRESET))


def preset_names() -> str:
    """The shipped preset names, comma separated (for help texts)."""
    return ", ".join(PRESETS)


def load_intent(ref: str) -> OrderIntent:
    """An order intent from a JSON file path or ``example:NAME``; errors name the file and field."""
    from riskguard.cli.state import read_json  # the STATE.json reader imports the engine

    source, data = read_json(ref)
    try:
        return OrderIntent.from_dict(data)
    except InputValidationError as exc:
        raise InputFileError(source, str(exc)) from None
