"""Compact JSON for the ledger's stored documents, with one encoder built once.

``json.JSONEncoder.encode`` builds a new C encoder (and a new circular-reference dict) on every
call; reserve() encodes about ten documents per decision, the 8 kB detail among them. The same C
encoder with the same settings is built once here, so the text is identical: compact separators,
ASCII escapes, floats by their exact repr, inf and nan as Infinity and NaN. Without a circular
check: the documents are plain data built by riskguard (a cycle would raise RecursionError).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _encoder
from typing import Any


def _default(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _build() -> Callable[[Any], str]:
    make = getattr(_encoder, "c_make_encoder", None)
    if make is None:  # a Python built without the _json accelerator
        return json.JSONEncoder(separators=(",", ":")).encode
    encode = make(None, _default, _encoder.encode_basestring_ascii, None, ":", ",", False, False, True)

    def dumps(value: Any) -> str:
        if isinstance(value, str):  # the C encoder expects a container or scalar; strings go direct
            return str(_encoder.encode_basestring_ascii(value))
        return "".join(encode(value, 0))

    return dumps


dumps = _build()
"""Compact JSON of ``value``; the same text as ``json.dumps(value, separators=(",", ":"))``."""


def canonical_dumps(value: Any) -> str:
    """Compact JSON with sorted keys, for comparing documents."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
