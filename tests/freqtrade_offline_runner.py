"""Run freqtrade offline: ``python freqtrade_offline_runner.py <binance-usdm dir> <freqtrade args...>``.

freqtrade loads Binance's markets over the network at start-up. This runner serves ccxt the
recorded USD-M ``exchangeInfo`` of ``../shared/data/binance-usdm`` through ccxt's own ``fetch``
(sync and async), refuses every other HTTP call, and refuses sockets to anything but 127.0.0.1,
then hands the arguments to freqtrade's command line.

The recording holds 7 USDT perpetuals (BTC, ETH, LTC, ADA, XRP, DOGE, TRX), not SOL or BNB. Their
symbol objects are built here from the recorded BTCUSDT object with the filters (tick, step,
min/max qty, min notional, price band) of riskguard's shipped instrument table
(``riskguard/data/binance_usdm_instruments.json``), so freqtrade and riskguard round alike.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import socket
import sys
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

_LOCAL = {"127.0.0.1", "localhost", "::1"}


def _refuse_remote_sockets() -> None:
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in _LOCAL:
            try:
                if not ipaddress.ip_address(host).is_loopback:
                    raise OSError(f"offline run: connection to {host} refused")
            except ValueError as exc:
                raise OSError(f"offline run: connection to {host} refused") from exc
        return real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in _LOCAL and host is not None:
            raise OSError(f"offline run: name lookup of {host} refused")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo


def _decimals(step: float) -> str:
    return str(max(0, -Decimal(repr(step)).normalize().as_tuple().exponent))  # type: ignore[operator]


def _text(number: float) -> str:
    return format(Decimal(repr(number)).normalize(), "f")


def built_symbol(template: dict[str, Any], rules: dict[str, Any]) -> dict[str, Any]:
    """A USD-M exchangeInfo symbol object for ``rules`` (riskguard's instrument table entry)."""
    symbol = rules["symbol"]
    base = symbol[: -len("USDT")]
    built = copy.deepcopy(template)
    built.update(symbol=symbol, pair=symbol, baseAsset=base, pricePrecision=_decimals(rules["tick_size"]),
                 quantityPrecision=_decimals(rules["step_size"]), underlyingSubType=[])
    for f in built["filters"]:
        kind = f["filterType"]
        if kind == "PRICE_FILTER":
            f["tickSize"] = _text(rules["tick_size"])
            f["minPrice"] = _text(rules["tick_size"])
        elif kind in ("LOT_SIZE", "MARKET_LOT_SIZE"):
            f.update(stepSize=_text(rules["step_size"]), minQty=_text(rules["min_qty"]),
                     maxQty=_text(rules["max_qty"]))
        elif kind == "MIN_NOTIONAL":
            f["notional"] = _text(rules["min_notional"])
        elif kind == "PERCENT_PRICE":
            f["multiplierUp"] = _text(rules["percent_price_up"])
            f["multiplierDown"] = _text(rules["percent_price_down"])
    return built


def exchange_info(recorded_dir: Path) -> dict[str, Any]:
    """The recorded exchangeInfo plus SOLUSDT and BNBUSDT built from riskguard's instrument table."""
    info: dict[str, Any] = json.loads((recorded_dir / "exchangeInfo.json").read_text())
    table = json.loads(resources.files("riskguard.data").joinpath("binance_usdm_instruments.json").read_text())
    have = {s["symbol"] for s in info["symbols"]}
    template = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    for rules in table["instruments"]:
        if rules["symbol"] in ("SOLUSDT", "BNBUSDT") and rules["symbol"] not in have:
            info["symbols"].append(built_symbol(template, rules))
    return info


def _serve(recorded_dir: Path) -> None:
    import ccxt
    import ccxt.async_support

    info = json.dumps(exchange_info(recorded_dir))
    empty = json.dumps({"timezone": "UTC", "serverTime": 0, "rateLimits": [], "exchangeFilters": [], "symbols": []})
    routes = {"/fapi/v1/exchangeInfo": info, "/api/v3/exchangeInfo": empty, "/dapi/v1/exchangeInfo": empty}

    def answer(url: str, method: str) -> Any:
        path = urlparse(url).path
        if method == "GET" and path in routes:
            return json.loads(routes[path])  # a fresh copy per call: ccxt keeps references into it
        raise ccxt.ExchangeNotAvailable(f"offline run: no recorded response for {method} {path}")

    def fetch(self: Any, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        return answer(url, method)

    async def fetch_async(self: Any, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        return answer(url, method)

    ccxt.Exchange.fetch = fetch
    ccxt.async_support.Exchange.fetch = fetch_async


def go_offline(recorded_dir: Path) -> None:
    """Refuse every socket but 127.0.0.1's and serve ccxt the recorded markets of ``recorded_dir``
    (for this process: the command line below, or a benchmark driving freqtrade's objects in-process)."""
    _refuse_remote_sockets()
    _serve(recorded_dir)


def main(argv: list[str]) -> int:
    go_offline(Path(argv[0]))
    from freqtrade.main import main as freqtrade_main

    try:
        freqtrade_main(argv[1:])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
