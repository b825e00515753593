"""Offline Binance USD-M: recorded responses served through ccxt's real parsers.

``RecordedBinance`` replaces a ``ccxt.binanceusdm`` client's single HTTP entry point, ``fetch``,
with a router serving bodies by (method, path) and recording every request (host, path, params).
Errors go through ccxt's own ``handle_errors`` / ``handle_http_status_code``, as a real response
would. Recorded bodies are read where they lie, in ../shared/data/binance-usdm (see its README).
"""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

BINANCE_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "binance-usdm"
API_KEY = "rgTESTkeyZ9v8Q7pL6mN5bX4cV3"
API_SECRET = "rgTESTsecretW2e3R4t5Y6u7I8o9P0aSdF"


def recorded(name: str) -> Any:
    """The JSON of ``name`` in the recorded-data directory (skips the test when it is absent)."""
    path = BINANCE_DATA / name
    if not path.exists():
        pytest.skip(f"recorded Binance data not found at {path} (../shared/data/binance-usdm)")
    return json.loads(path.read_text("utf-8"))


def recorded_body(name: str) -> Any:
    """The recorded HTTP response body of a ccxt fixture file."""
    return recorded(name)["httpResponse"]


@dataclass(frozen=True)
class HttpError:
    """A non-2xx answer: ``status`` with a Binance error ``body`` and response ``headers``."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class Unreachable(OSError):
    """Raised by the router for a simulated lost connection (ccxt wraps it as a NetworkError)."""


@dataclass(frozen=True)
class Request:
    method: str
    host: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    url: str
    body: str | None


Route = Any  # a body, an HttpError, an exception to raise, or a callable(Request) -> one of those


class RecordedBinance:
    """Stands in for ``client.fetch``; ``routes[(method, path)]`` is one answer or a list served in turn."""

    def __init__(self, client: Any, routes: dict[tuple[str, str], Route] | None = None) -> None:
        self.client = client
        self.routes: dict[tuple[str, str], Route] = {
            ("GET", "/fapi/v1/exchangeInfo"): recorded("exchangeInfo.json"),
            ("GET", "/fapi/v1/leverageBracket"): recorded("leverageBracket.json"),
        }
        self.routes.update(routes or {})
        self.requests: list[Request] = []

    def __call__(self, url: str, method: str = "GET", headers: dict[str, str] | None = None,
                 body: str | None = None) -> Any:
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if body:
            params.update(parse_qsl(body, keep_blank_values=True))
        request = Request(method, parts.netloc, parts.path, params, dict(headers or {}), url, body)
        self.requests.append(request)
        key = (method, parts.path)
        if key not in self.routes:
            raise AssertionError(f"no recorded answer for {method} {parts.path}")
        answer = self.routes[key]
        if isinstance(answer, list) and answer and isinstance(answer[0], _Sequence):
            answer = answer[0].pop(0) if len(answer[0]) > 1 else answer[0][0]
        if callable(answer) and not isinstance(answer, type):
            answer = answer(request)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, HttpError):
            text = json.dumps(answer.body)
            self.client.last_response_headers = answer.headers
            reason = {400: "Bad Request", 418: "I'm a teapot", 429: "Too Many Requests"}.get(answer.status, "Error")
            self.client.handle_errors(answer.status, reason, url, method, answer.headers, text, answer.body,
                                      headers, body)
            self.client.handle_http_status_code(answer.status, reason, url, method, text)
            raise AssertionError(f"ccxt did not raise for HTTP {answer.status}")
        self.client.last_response_headers = {}
        return copy.deepcopy(answer)  # a fresh decode per call, as ccxt's own fetch returns

    def writes(self) -> list[Request]:
        """The requests that change state (POST / PUT / DELETE), in order."""
        return [r for r in self.requests if r.method != "GET"]


class _Sequence(list[Any]):
    """Answers served one per call; the last one repeats."""


def in_turn(*answers: Route) -> list[Any]:
    """A route that answers ``answers`` one per call (the last one for every later call)."""
    return [_Sequence(answers)]


def offline_client(routes: dict[tuple[str, str], Route] | None = None, *, testnet: bool = False) -> Any:
    """A real ``ccxt.binanceusdm`` (riskguard's configuration) whose ``fetch`` serves recorded bodies."""
    from riskguard.exchange.binance import make_client
    from riskguard.exchange.credentials import Credentials

    client = make_client(Credentials(API_KEY, API_SECRET), testnet=testnet)
    client.enableRateLimit = False
    client.fetch = RecordedBinance(client, routes)
    return client


class NetworkBlocked(OSError):
    """A test tried to open a network connection."""


@pytest.fixture(scope="module")
def no_network() -> Iterator[list[tuple[Any, ...]]]:
    """Block every socket connection for the whole module; yields the attempts made."""
    attempts: list[tuple[Any, ...]] = []

    def refuse(*args: Any, **_: Any) -> Any:
        attempts.append(args)
        raise NetworkBlocked(f"network access attempted in an offline test: {args[1:] if len(args) > 1 else args}")

    saved: dict[str, Callable[..., Any]] = {
        "connect": socket.socket.connect, "connect_ex": socket.socket.connect_ex,
        "create_connection": socket.create_connection, "getaddrinfo": socket.getaddrinfo}
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse
    try:
        yield attempts
    finally:
        socket.socket.connect = saved["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = saved["connect_ex"]  # type: ignore[method-assign]
        socket.create_connection = saved["create_connection"]  # type: ignore[assignment]
        socket.getaddrinfo = saved["getaddrinfo"]
