"""Example inputs shipped with riskguard: a STATE.json and order intents for ``riskguard check``/``probe``.

Each example is addressable on the command line as ``example:NAME`` (e.g. ``--state
example:state_moderate``) and printable with ``riskguard examples NAME``. The state carries a
fixed ``now_ms`` and matching timestamps, so decisions on it never go stale.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

EXAMPLES: dict[str, str] = {
    "state_moderate": "STATE.json: NAV 4,400 USDT, fresh BTC/ETH/SOL/BNB quotes, one small ETH long",
    "intent_btc": "order intent: BTCUSDT BUY 600 USDT at 3x, stop 2 % away, take-profit 2R, confidence 0.8",
    "intent_too_big": "order intent: BTCUSDT BUY 1,000 USDT at 1x (above 20 % of NAV 4,400 and the equity clamp)",
}
"""JSON example name -> one-line description."""

FILE_EXAMPLES: dict[str, tuple[str, str]] = {
    "calibrate_grid": ("calibrate_grid.yaml", "calibrate grid: section A's story as a sweep of postures "
                                              "(riskguard calibrate --grid example:calibrate_grid)"),
    "ultra_conservative": ("ultra_conservative.yaml", "posture: the story's too-tight posture that vetoes every "
                                                      "BTC/ETH trade (--posture example:ultra_conservative)"),
}
"""Shipped files that are not JSON inputs: example name -> (file name, one-line description)."""

EXAMPLE_PREFIX = "example:"
"""How the command line names a shipped example (``example:state_moderate``)."""


def example_names() -> list[str]:
    """Every shipped example's name."""
    return [*EXAMPLES, *FILE_EXAMPLES]


def example_path(ref: str) -> Path:
    """The file of example ``ref`` (``example:NAME`` or ``NAME``), beside the files it refers to
    (a grid names its postures relative to itself). Raises KeyError for an unknown name."""
    name = ref.removeprefix(EXAMPLE_PREFIX)
    if name in FILE_EXAMPLES:
        file_name = FILE_EXAMPLES[name][0]
    elif name.removesuffix(".json") in EXAMPLES:
        file_name = name.removesuffix(".json") + ".json"
    else:
        raise KeyError(name)
    return Path(str(resources.files(__name__).joinpath(file_name)))


def read_example(name: str) -> str:
    """The text of example ``name`` (a JSON input of :data:`EXAMPLES`, a ``.json`` suffix accepted,
    or a file of :data:`FILE_EXAMPLES`)."""
    return example_path(name).read_text(encoding="utf-8")
