"""Example inputs shipped with riskguard: a STATE.json and order intents for ``riskguard check``/``probe``.

Each example is addressable on the command line as ``example:NAME`` (e.g. ``--state
example:state_moderate``) and printable with ``riskguard examples NAME``. The state carries a
fixed ``now_ms`` and matching timestamps, so decisions on it never go stale.
"""

from __future__ import annotations

from importlib import resources

EXAMPLES: dict[str, str] = {
    "state_moderate": "STATE.json: NAV 4,400 USDT, fresh BTC/ETH/SOL/BNB quotes, one small ETH long",
    "intent_btc": "order intent: BTCUSDT BUY 600 USDT at 3x, stop 2 % away, take-profit 2R, confidence 0.8",
    "intent_too_big": "order intent: BTCUSDT BUY 1,000 USDT at 1x (above 20 % of NAV 4,400 and the equity clamp)",
}
"""Example name -> one-line description."""


def read_example(name: str) -> str:
    """The JSON text of example ``name`` (a key of :data:`EXAMPLES`; a ``.json`` suffix is accepted)."""
    stem = name.removesuffix(".json")
    if stem not in EXAMPLES:
        raise KeyError(name)
    return resources.files(__name__).joinpath(f"{stem}.json").read_text(encoding="utf-8")
