"""The project's one JSON encoder: every document riskguard writes goes through this module.

Four spellings of the same encoder, for four readers:

- :func:`encode`: compact, keys in insertion order, floats by their exact ``repr`` with non-finite
  values as ``Infinity`` / ``NaN``: what the ledger stores, so that replays compare exactly.
- :func:`encode_canonical`: compact with sorted keys: equal documents give equal text (the posture's
  ``config_hash`` and comparisons of stored decisions).
- :func:`encode_pretty`: indented strict JSON for files people read (reports); a non-finite float is
  an error there.
- :func:`encode_printable`: indented strict JSON of anything, for the CLI's ``--json``: non-finite
  floats become ``"inf"`` / ``"-inf"`` / ``"nan"`` and unknown objects their ``str``.

Typed values encode as their plain form (:func:`to_builtins`): slots dataclasses as objects in field
order, enums as their values, sets as lists, objects with ``model_dump`` (pydantic) as their JSON dump.

The compact encoders are C encoders built once: ``json.JSONEncoder.encode`` builds a new one (and a
new circular-reference dict) on every call, and the ledger encodes about ten documents per reserve.
They run without a circular check: the documents are plain data built by riskguard (a cycle would
raise RecursionError). The text is the same as ``json.dumps(value, separators=(",", ":"))``.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Callable
from json import encoder as _encoder
from typing import Any

_INDENT = 2


def to_builtins(value: Any) -> Any:
    """The JSON-ready plain form of a typed value the encoder does not know natively; raises
    TypeError naming the type for anything else."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _compact(sort_keys: bool) -> Callable[[Any], str]:
    make = getattr(_encoder, "c_make_encoder", None)
    if make is None:  # a Python built without the _json accelerator
        return json.JSONEncoder(separators=(",", ":"), sort_keys=sort_keys, default=to_builtins).encode
    encode = make(None, to_builtins, _encoder.encode_basestring_ascii, None, ":", ",", sort_keys, False, True)

    def dumps(value: Any) -> str:
        if isinstance(value, str):  # the C encoder expects a container or scalar; strings go direct
            return str(_encoder.encode_basestring_ascii(value))
        return "".join(encode(value, 0))

    return dumps


encode: Callable[[Any], str] = _compact(sort_keys=False)
"""Compact JSON of ``value``, keys in insertion order; the same text as
``json.dumps(value, separators=(",", ":"))`` for plain data."""

encode_canonical: Callable[[Any], str] = _compact(sort_keys=True)
"""Compact JSON of ``value`` with sorted keys; the same text as
``json.dumps(value, separators=(",", ":"), sort_keys=True)`` for plain data."""


def encode_pretty(value: Any, *, sort_keys: bool = False) -> str:
    """Indented strict JSON of ``value`` (ValueError on a non-finite float)."""
    return json.dumps(value, indent=_INDENT, sort_keys=sort_keys, allow_nan=False, default=to_builtins)


def printable(value: Any) -> Any:
    """``value`` as strict-JSON-ready plain data: non-finite floats as ``"inf"`` / ``"-inf"`` /
    ``"nan"``, mapping keys as strings, sequences and sets as lists, pydantic models as their JSON
    dump, anything else as its ``str``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [printable(v) for v in value]
    if isinstance(value, str):
        return str(value)  # StrEnum members become plain strings
    if value is None or isinstance(value, bool | int):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return printable(dump(mode="json"))
    return str(value)


def encode_printable(value: Any, *, indent: int | None = _INDENT) -> str:
    """Strict JSON of anything (see :func:`printable`); ``indent=None`` for one line."""
    return json.dumps(printable(value), indent=indent, allow_nan=False)


def decode(text: str | bytes) -> Any:
    """Plain data from JSON text (``Infinity`` / ``NaN`` accepted, as :func:`encode` writes them)."""
    return json.loads(text)
