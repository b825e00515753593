"""SizingStabilizer: buckets, hysteresis band, minimum interval between increases, immediate decreases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskguard.model.errors import InputValidationError
from riskguard.sizing.params import StabilizerParams
from riskguard.sizing.stabilizer import SizingStabilizer

PARAMS = StabilizerParams(hysteresis=0.10, bucket=0.0025, min_interval_ms=60_000, immediate_decrease=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


def _stabilizer(params: StabilizerParams = PARAMS) -> tuple[SizingStabilizer, FakeClock]:
    clock = FakeClock()
    return SizingStabilizer(params, clock), clock


def test_first_size_is_accepted_floored_to_bucket() -> None:
    s, _ = _stabilizer()
    out = s.update("BTCUSDT", 0.0199)
    assert out.changed and out.value == 0.0175


def test_increase_within_hysteresis_band_is_held() -> None:
    s, clock = _stabilizer()
    s.update("BTCUSDT", 0.05)
    clock.now += 3_600_000
    out = s.update("BTCUSDT", 0.0525)  # +5 % < 10 % band
    assert not out.changed and out.value == 0.05 and out.reason == "within hysteresis band"


def test_increase_before_min_interval_is_held() -> None:
    s, clock = _stabilizer()
    s.update("BTCUSDT", 0.05)
    clock.now += 59_999
    assert s.update("BTCUSDT", 0.08).reason == "minimum resize interval"
    clock.now += 1
    out = s.update("BTCUSDT", 0.08)
    assert out.changed and out.value == 0.08


def test_decrease_is_applied_at_once() -> None:
    s, _ = _stabilizer()
    s.update("BTCUSDT", 0.05)
    out = s.update("BTCUSDT", 0.049)
    assert out.changed and out.value == 0.0475


def test_decrease_is_damped_when_immediate_decrease_is_off() -> None:
    s, clock = _stabilizer(StabilizerParams(0.10, 0.0025, 60_000, immediate_decrease=False))
    s.update("BTCUSDT", 0.05)
    clock.now += 120_000
    assert not s.update("BTCUSDT", 0.0475).changed
    assert s.update("BTCUSDT", 0.04).value == 0.04


def test_keys_are_independent() -> None:
    s, _ = _stabilizer()
    s.update("BTCUSDT", 0.05)
    assert s.update("ETHUSDT", 0.02).value == 0.02
    assert s.current("BTCUSDT") == 0.05


def test_reset_forgets_a_key() -> None:
    s, _ = _stabilizer()
    s.update("BTCUSDT", 0.05)
    s.reset("BTCUSDT")
    assert s.current("BTCUSDT") is None
    assert s.update("BTCUSDT", 0.052).changed


@given(st.lists(st.tuples(st.floats(0, 0.2), st.integers(0, 120_000)), min_size=1, max_size=50))
def test_stabilized_size_never_exceeds_the_latest_target(steps: list[tuple[float, int]]) -> None:
    s, clock = _stabilizer()
    for target, advance in steps:
        clock.now += advance
        out = s.update("K", target)
        assert out.value <= target + 1e-12


def test_negative_target_is_refused() -> None:
    s, _ = _stabilizer()
    with pytest.raises(InputValidationError) as err:
        s.update("BTCUSDT", -0.01)
    assert err.value.field == "target"
