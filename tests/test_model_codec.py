"""The one JSON encoder: the ledger's compact text, canonical text for hashes, strict pretty text for
reports and printable text for the CLI, each the same as the standard library would write."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import pytest

from riskguard.model.codec import decode, encode, encode_canonical, encode_pretty, encode_printable
from riskguard.model.enums import Side, TradingState

PLAIN: list[Any] = [None, True, 0, -1, 1.5, -0.0, 5e-324, 1e300, math.inf, -math.inf, math.nan, "é\u2028\"x\n",
                    [], {}, (1, 2.0), {"a": {"b": [1, {"c": "ü", "d": None}]}},
                    {1: "int key", 2.5: "float key", False: "bool key", None: "null key"},
                    TradingState.HALTED, {"state": TradingState.ACTIVE}]


@dataclass(frozen=True, slots=True)
class Leg:
    side: Side
    qty: float


def test_compact_text_is_the_standard_librarys_compact_text() -> None:
    reference = json.JSONEncoder(separators=(",", ":")).encode
    for value in PLAIN:
        assert encode(value) == reference(value)


def test_canonical_text_is_the_standard_librarys_sorted_compact_text() -> None:
    for value in PLAIN:
        if isinstance(value, dict) and len({type(k) for k in value}) > 1:
            continue  # mixed key types cannot be sorted by either encoder
        assert encode_canonical(value) == json.dumps(value, separators=(",", ":"), sort_keys=True)
    assert encode_canonical({"b": 1, "a": {"d": 2, "c": 3}}) == '{"a":{"c":3,"d":2},"b":1}'


def test_an_unknown_object_is_refused_by_name_and_leaves_nothing_behind() -> None:
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        encode({"x": object()})
    assert encode({"x": 1}) == '{"x":1}'


def test_typed_values_encode_as_their_plain_form() -> None:
    assert encode([Leg(Side.BUY, 0.5)]) == '[{"side":"BUY","qty":0.5}]'
    assert decode(encode(Leg(Side.SELL, 1.0))) == {"side": "SELL", "qty": 1.0}


def test_pretty_text_is_strict_and_refuses_a_non_finite_float() -> None:
    assert encode_pretty({"b": 1, "a": [1.5]}, sort_keys=True) == json.dumps(
        {"b": 1, "a": [1.5]}, sort_keys=True, indent=2)
    with pytest.raises(ValueError, match="Out of range float"):
        encode_pretty({"x": math.nan})


def test_printable_text_spells_non_finite_floats_and_unknown_objects_as_strings() -> None:
    text = encode_printable({"nav": math.inf, "gap": math.nan, "pair": (1, 2), 3: {4.0}, "obj": object}, indent=None)
    assert json.loads(text) == {"nav": "inf", "gap": "nan", "pair": [1, 2], "3": [4.0], "obj": str(object)}


def test_stored_text_decodes_back_to_the_same_data() -> None:
    value = {"a": [1, 2.5, None, "x"], "inf": math.inf}
    assert decode(encode(value)) == value
