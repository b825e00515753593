"""CVaR return sets are stored once per content and, while each symbol's window only slides, as
deltas of the previous set; reading resolves a chain back to exactly the data fed."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ledger_fixtures import db_url
from riskguard.ledger import Ledger
from riskguard.ledger import tables as t
from riskguard.runtime.return_chain import ReturnChain

__all__ = ["db_url"]


def _ledger(url: str) -> Ledger:
    ledger = Ledger(url)
    ledger.upgrade()
    return ledger


def _stored(ledger: Ledger, returns_hash: str) -> dict[str, Any]:
    with ledger.reading() as conn:
        text = conn.execute(select(t.return_sets.c.returns_json).where(
            t.return_sets.c.returns_hash == returns_hash)).scalar()
    assert text is not None
    data: dict[str, Any] = json.loads(text)
    return data


def _window(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def test_a_slid_window_is_stored_as_a_delta_that_reads_back_in_full(db_url: str) -> None:
    ledger, chain = _ledger(db_url), ReturnChain()
    chain.reference(ledger, {"BTCUSDT": _window([0.01, -0.02, 0.03]), "ETHUSDT": _window([0.0, 0.01])})
    second = chain.reference(ledger, {"BTCUSDT": _window([-0.02, 0.03, 0.04]), "ETHUSDT": _window([0.0, 0.01, 0.02])})
    assert second is not None
    assert _stored(ledger, second)["drop"] == {"BTCUSDT": 1, "ETHUSDT": 0}
    assert ledger.return_set(second) == {"BTCUSDT": [-0.02, 0.03, 0.04], "ETHUSDT": [0.0, 0.01, 0.02]}


def test_a_window_whose_history_changed_is_stored_in_full(db_url: str) -> None:
    ledger, chain = _ledger(db_url), ReturnChain()
    chain.reference(ledger, {"BTCUSDT": _window([0.01, 0.02])})
    rewritten = chain.reference(ledger, {"BTCUSDT": _window([0.011, 0.02, 0.03])})
    assert rewritten is not None and "base" not in _stored(ledger, rewritten)


def test_windows_are_compared_bit_for_bit(db_url: str) -> None:
    ledger, chain = _ledger(db_url), ReturnChain()
    chain.reference(ledger, {"BTCUSDT": _window([0.0, 0.02])})
    signed = chain.reference(ledger, {"BTCUSDT": _window([-0.0, 0.02, 0.03])})
    assert signed is not None and "base" not in _stored(ledger, signed)
    assert str(ledger.return_set(signed)["BTCUSDT"][0]) == "-0.0"


def test_a_full_set_is_stored_at_least_every_keyframe(db_url: str) -> None:
    ledger, chain = _ledger(db_url), ReturnChain(keyframe_every=3)
    hashes = [chain.reference(ledger, {"BTCUSDT": _window([0.01] * (n + 1))}) for n in range(7)]
    full = ["base" not in _stored(ledger, h) for h in hashes if h is not None]
    assert full == [True, False, False, True, False, False, True]


def test_no_returns_is_no_reference(db_url: str) -> None:
    assert ReturnChain().reference(_ledger(db_url), {}) is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.booleans()), min_size=1, max_size=25),
       seed=st.integers(0, 1_000))
def test_every_stored_set_reads_back_exactly_as_fed(tmp_path_factory: pytest.TempPathFactory,
                                                    steps: list[tuple[int, int, bool]], seed: int) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('returns') / 'ledger.db'}"
    ledger, chain = _ledger(url), ReturnChain(keyframe_every=5)
    rng = np.random.default_rng(seed)
    window = 6
    series = {"BTCUSDT": list(rng.normal(0, 0.01, 3)), "ETHUSDT": list(rng.normal(0, 0.01, 2))}
    for grow_btc, grow_eth, rewrite in steps:
        series["BTCUSDT"] = (series["BTCUSDT"] + list(rng.normal(0, 0.01, grow_btc)))[-window:]
        series["ETHUSDT"] = (series["ETHUSDT"] + list(rng.normal(0, 0.01, grow_eth)))[-window:]
        if rewrite:
            series["ETHUSDT"][0] += 0.001
        returns_hash = chain.reference(ledger, {s: _window(v) for s, v in series.items()})
        assert returns_hash is not None
        assert ledger.return_set(returns_hash) == series
    ledger.dispose()
