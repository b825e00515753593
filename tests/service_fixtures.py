"""The service under real uvicorn on a free 127.0.0.1 port, on SQLite or PostgreSQL ledgers."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service tests need the service extra: pip install -e '.[test]'")
pytest.importorskip("uvicorn", reason="the service tests need the service extra: pip install -e '.[test]'")

import httpx
import uvicorn
from fastapi import FastAPI

from ledger_fixtures import PgSchema, require_pg
from riskguard.config import Posture, preset
from riskguard.service.app import create_app
from riskguard.service.settings import ServiceSettings
from riskguard.service.tokens import TokenStore

READ, TRADE, ADMIN = "reader-0f2c9a", "trader-7d41be", "admin-93ac55"
TOKENS = f"{READ}:read;{TRADE}:trade,read;{ADMIN}:admin,read"
PRICES = {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 150.0}
NAV = 10_000.0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveService:
    """A running service: its base URL and its app."""

    url: str
    app: FastAPI

    def client(self, token: str | None = TRADE) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10.0)


@dataclass
class _Server:
    server: uvicorn.Server
    thread: threading.Thread


def start_uvicorn(app: FastAPI) -> tuple[str, _Server]:
    """Serve ``app`` under uvicorn in a thread on a free 127.0.0.1 port; returns its URL once it answers."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=1, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", _Server(server, thread)


def stop_uvicorn(running: _Server) -> None:
    running.server.should_exit = True
    running.thread.join(timeout=15)


def service_settings(db_url: str, posture: Posture | None = None, **overrides: Any) -> ServiceSettings:
    return ServiceSettings(posture=posture or preset("moderate"), db_url=db_url,
                           tokens=TokenStore.from_spec(TOKENS), **overrides)


@dataclass
class Ledgers:
    """Makes ledger URLs for one test module on a backend, dropping PostgreSQL schemas afterwards."""

    backend: str
    directory: Path
    schemas: list[PgSchema]

    def new_url(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.directory / f'ledger-{uuid.uuid4().hex[:8]}.db'}"
        schema = PgSchema(require_pg(), f"rg_svc_{os.getpid()}_{uuid.uuid4().hex[:10]}")
        schema.create()
        self.schemas.append(schema)
        return schema.url


BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def ledgers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledgers]:
    made = Ledgers(request.param, tmp_path_factory.mktemp(f"ledgers-{request.param}"), [])
    if request.param == "postgres":
        require_pg()
    try:
        yield made
    finally:
        for schema in made.schemas:
            schema.drop()


def running(settings: ServiceSettings) -> Iterator[LiveService]:
    app = create_app(settings)
    url, server = start_uvicorn(app)
    try:
        yield LiveService(url, app)
    finally:
        stop_uvicorn(server)


@pytest.fixture
def service(ledgers: Ledgers) -> Iterator[LiveService]:
    """A service on a new ledger of the module's backend, NAV 10,000 USDT marked now, fresh quotes fed."""
    for live in running(service_settings(ledgers.new_url())):
        with live.client(TRADE) as http:
            prime(http)
        yield live


def quotes(ts_ms: int | None = None) -> list[dict[str, Any]]:
    """Fresh tight quotes of the test symbols (JSON bodies of MarketSnapshot)."""
    ts = now_ms() if ts_ms is None else ts_ms
    return [{"symbol": s, "mark_price": p, "bid": p * 0.99999, "ask": p * 1.00001, "ts_ms": ts}
            for s, p in PRICES.items()]


def prime(http: httpx.Client, nav: float = NAV) -> None:
    """A fresh NAV mark and quotes, so decisions are not vetoed as stale."""
    assert http.post("/v1/nav", json={"nav": nav, "ts_ms": now_ms()}).status_code == 200
    assert http.post("/v1/market", json={"markets": quotes()}).status_code == 200


def intent(intent_id: str | None = None, symbol: str = "BTCUSDT", notional: float = 300.0, *,
           strategy: str = "svc_trend", **fields: Any) -> dict[str, Any]:
    """A reasonable BUY intent body: stop 2 % below the mark, target at 2 R, confidence 0.8."""
    price = PRICES[symbol]
    return {"intent_id": intent_id or f"it-{uuid.uuid4().hex[:12]}", "strategy": strategy, "symbol": symbol,
            "side": "BUY", "notional": notional, "leverage": 2.0, "stop_price": price * 0.98,
            "take_profit_price": price * 1.04, "confidence": 0.8, **fields}
