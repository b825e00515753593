"""The FastAPI application: ``create_app(settings)``.

Routes (scope in brackets): ``POST /v1/check`` [read], ``POST /v1/reserve``, ``/v1/fill``,
``/v1/release``, ``/v1/close``, ``/v1/stop``, ``/v1/nav``, ``/v1/market`` [trade], ``GET /v1/state`` [read],
``PUT /v1/state`` [admin], ``GET /v1/positions``, ``/v1/decisions``, ``/v1/decisions/{id}``,
``/v1/dashboard``, ``/v1/events`` (server-sent events), ``/metrics`` [read]; ``/healthz``,
``/readyz``, ``/openapi.json`` and the dashboard page ``/`` with its assets are public (the page
holds no data; it asks for a token and reads the API with it).

Deciding is synchronous (the engine and the ledger are not async): the deciding routes are plain
``def`` routes, which FastAPI runs in its threadpool; the core serialises them with one lock. Dry
runs (``/v1/check``) are decided on the event loop when that needs neither I/O nor waiting
(``ServiceCore.check_now``), otherwise on a thread of their own (``ServiceState.dry_run``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from riskguard import __version__
from riskguard.engine.engine import RiskEngine
from riskguard.ledger.errors import LedgerError, LedgerUnavailable
from riskguard.ledger.rows import AccountRow, DecisionRecord
from riskguard.model.decision import Detail
from riskguard.model.enums import TradingState
from riskguard.model.errors import InputValidationError
from riskguard.model.intent import OrderIntent
from riskguard.model.signal import Signal
from riskguard.model.snapshots import AccountSnapshot, MarketSnapshot
from riskguard.monitor.service_calls import KillSwitchRequest
from riskguard.runtime.unavailable import LEDGER_UNAVAILABLE, unavailable_detail
from riskguard.service import schemas as s
from riskguard.service.auth import AdminToken, ReadToken, TradeToken
from riskguard.service.core import ServiceCore, close_dict, fill_dict
from riskguard.service.dashboard import install_dashboard
from riskguard.service.events import ChangeNotifier
from riskguard.service.lean_route import lean, lean_openapi
from riskguard.service.metrics import ServiceMetrics, verdict_of
from riskguard.service.responses import ERRORS, StrictJSONResponse, field_error, install_error_handlers
from riskguard.service.settings import ServiceSettings
from riskguard.service.tokens import Scope

log = logging.getLogger("riskguard.service")
T = TypeVar("T")

PUBLIC_PATHS = frozenset({"/", "/healthz", "/readyz", "/openapi.json", "/static/dashboard.js",
                          "/static/dashboard.css"})
"""Routes served without a token (probes, the API description, the dashboard's empty shell)."""
EVENT_STREAM_MAX_S = 300.0  # a stream ends after this long; the page reconnects (bounds stale connections)
_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {**spec, "model": s.ErrorResponse} for code, spec in ERRORS.items()}
_VALIDATION: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body cannot be parsed (not JSON, not UTF-8)", "model": s.ErrorResponse},
    422: {"description": "A malformed request; names each invalid field", "model": s.ValidationErrorResponse}}
_LEDGER_DOWN: dict[int | str, dict[str, Any]] = {503: {"description": "The ledger is unreachable",
                                                       "model": s.ErrorResponse}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such id", "model": s.ErrorResponse}}
_REFUSED: dict[int | str, dict[str, Any]] = {409: {"description": "Refused by the ledger's rules (e.g. a "
                                                   "reservation already filled)", "model": s.ErrorResponse}}


class ServiceState:
    """The app's core (built at start-up, rebuilt on demand while the ledger is unreachable), its
    metrics and its change notifier."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.metrics = ServiceMetrics(self.budget)
        self.notifier = ChangeNotifier()
        self._core: ServiceCore | None = None
        self._lock = threading.Lock()
        self._dry_runs = _one_thread()
        self.problem: str | None = "not started"

    def core(self) -> ServiceCore:
        """The core; LedgerUnavailable while the ledger cannot be opened."""
        core = self._core
        if core is not None:
            return core
        with self._lock:
            if self._core is None:
                try:
                    self._core = ServiceCore(self.settings)
                    self.problem = None
                except LedgerError as exc:
                    self.problem = str(exc)
                    self.metrics.ledger_errors.labels("start").inc()
                    raise LedgerUnavailable(f"the service cannot open its ledger: {exc}") from None
            return self._core

    def open_core(self) -> ServiceCore | None:
        """The core when the ledger is open (never opens it: no I/O)."""
        return self._core

    def stop(self) -> None:
        """Close the ledger (after the dry runs under way)."""
        dry_runs, self._dry_runs = self._dry_runs, _one_thread()
        dry_runs.shutdown(wait=True)
        with self._lock:
            if self._core is not None:
                self._core.close_ledger()
                self._core = None

    async def dry_run(self, call: Callable[[], T]) -> T:
        """``call()`` on the dry runs' own thread, off the event loop. Dry runs are serialised by the
        core's lock anyway; one thread queues them first come, first served, where FastAPI's
        threadpool would wake one thread per request to wait on that lock (docs/performance.md)."""
        return await asyncio.get_running_loop().run_in_executor(self._dry_runs, call)

    def budget(self) -> dict[str, Any]:
        """The risk budget view (see riskguard.service.budget)."""
        return self.core().budget()

    @contextmanager
    def ledger_call(self, operation: str) -> Iterator[ServiceCore]:
        """The core for one operation, counting a ledger outage under ``operation``."""
        try:
            yield self.core()
        except LedgerUnavailable:
            self.metrics.ledger_errors.labels(operation).inc()
            raise


def _one_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskguard-dry-run")


def _order(body: s.DecideRequest) -> OrderIntent | Signal:
    try:
        if body.intent is not None:
            return OrderIntent(**body.intent.model_dump())
        assert body.signal is not None  # the request model requires one of the two
        return Signal(**body.signal.model_dump())
    except InputValidationError as exc:
        raise field_error(["body", "intent" if body.intent is not None else "signal"], exc) from None


def _markets(bodies: Sequence[s.MarketBody], where: str) -> list[MarketSnapshot]:
    snapshots = []
    for index, body in enumerate(bodies):
        try:
            snapshots.append(MarketSnapshot(**body.model_dump()))
        except InputValidationError as exc:
            raise field_error(["body", where, index], exc) from None
    return snapshots


def _unavailable_veto(order: OrderIntent | Signal, message: str, settings: ServiceSettings) -> Detail:
    """The fail-closed answer when the ledger cannot be reached: a veto with the whole decision
    contract (``riskguard.runtime.unavailable``), never an approval. The engine is a fresh one of
    the posture: with the ledger unreachable this process knows no NAV and no book."""
    return unavailable_detail(RiskEngine(settings.posture), order, message)


def _json_text(value: Any) -> str:
    return bytes(StrictJSONResponse(value).body).decode("utf-8")


def _state_dict(row: AccountRow) -> dict[str, Any]:
    return {"account": row.account_id, "trading_state": row.trading_state.value, "reason": row.state_reason,
            "actor": row.state_actor, "ts_ms": row.state_ts_ms, "nav": row.nav, "nav_ts_ms": row.nav_ts_ms,
            "realized_pnl": row.realized_pnl, "mode": row.mode}


def decision_summary(record: DecisionRecord) -> dict[str, Any]:
    """A stored decision in brief (the ``GET /v1/decisions`` item)."""
    detail = record.detail
    side = detail.get("side")
    return {"decision_id": record.decision_id, "intent_id": record.intent_id, "ts_ms": record.ts_ms,
            "strategy": record.strategy, "symbol": record.symbol, "side": None if side is None else str(side),
            "approved": record.approved, "verdict": verdict_of(detail), "reasons": list(detail.get("reasons", [])),
            "notional": (detail.get("sized") or {}).get("notional"), "reservation_id": record.reservation_id,
            "config_hash": record.config_hash}


def dashboard_decision(record: DecisionRecord) -> dict[str, Any]:
    """A decision for the dashboard's list: the summary plus each failing or binding gate's observed
    value, threshold and headroom, and the largest notional that would have passed."""
    detail = record.detail
    gates = [{k: c.get(k) for k in ("gate", "passed", "observed", "threshold", "headroom_notional", "severity")}
             for c in detail.get("checks", []) if not c.get("passed") or c.get("gate") == detail.get("clamped_by")]
    return {**decision_summary(record), "max_notional_allowed": detail.get("max_notional_allowed"),
            "requested_notional": (detail.get("requested") or {}).get("notional"), "gates": gates}


def create_app(settings: ServiceSettings) -> FastAPI:
    """The riskguard service for ``settings`` (posture, ledger URL, tokens). The ledger is opened at
    start-up; while it cannot be, ``/readyz`` says why (503) and decisions are vetoed."""
    state = ServiceState(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.notifier.bind(asyncio.get_running_loop())
        try:
            await run_in_threadpool(state.core)
        except LedgerUnavailable as exc:
            log.error("riskguard service starting without its ledger: %s", exc)
        yield
        await run_in_threadpool(state.stop)

    app = FastAPI(title="riskguard", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json", default_response_class=StrictJSONResponse,
                  description="Pre-trade risk decisions over HTTP: check, reserve, fill, release, close, NAV "
                              "marks, trading state, stored decisions, metrics. Bearer tokens with scopes "
                              "read, trade, admin. Sizes in USDT notional unless a field says qty; times in "
                              "UTC epoch ms.")
    app.state.tokens = settings.tokens
    app.state.service = state
    install_error_handlers(app)
    metrics = state.metrics

    # -- deciding --------------------------------------------------------------------------
    # The hot path: a lean route (its token and body checked by hand, the same answers as ReadToken
    # and a declared body). A dry run that can be decided from memory without waiting is decided
    # on the event loop (ServiceCore.check_now); any other (market snapshots in the body, something
    # committed since the last one, the core busy, PostgreSQL) on the dry runs' own thread.
    @app.post("/v1/check", response_model=s.CheckResponse, tags=["decide"], responses={**_AUTH_ERRORS, **_VALIDATION},
              openapi_extra=lean_openapi(s.DecideRequest))
    @lean(Scope.READ, s.DecideRequest)
    async def check(body: s.DecideRequest) -> Response:
        """Dry run: every gate against the ledger's current book; nothing is stored or reserved."""
        order, markets = _order(body), _markets(body.market, "market")
        started, core = time.perf_counter(), state.open_core()
        decided = None if core is None or markets else core.check_now(order)
        if decided is None:
            decided = await state.dry_run(lambda: dry_run(order, markets))
        else:
            metrics.decision_seconds.observe(time.perf_counter() - started)
        veto, detail = decided
        return StrictJSONResponse({"veto": veto, "detail": detail})

    def dry_run(order: OrderIntent | Signal, markets: list[MarketSnapshot]) -> tuple[bool, Detail]:
        started = time.perf_counter()
        try:
            with state.ledger_call("check") as core:
                veto, detail = core.check(order, markets)
        except LedgerUnavailable as exc:
            veto, detail = True, _unavailable_veto(order, str(exc), settings)
        metrics.decision_seconds.observe(time.perf_counter() - started)
        return veto, detail

    @app.post("/v1/reserve", response_model=s.ReserveResponse, tags=["decide"],
              responses={**_AUTH_ERRORS, **_VALIDATION})
    def reserve(body: s.DecideRequest, _: TradeToken) -> Response:
        """Decide and record an intent (or a signal, sized here). An approved risk-adding intent
        reserves its budget until filled, released or expired. Idempotent by ``intent_id``: a retry
        returns the first decision. Fails closed: an unreachable ledger is a veto."""
        started = time.perf_counter()
        order, markets = _order(body), _markets(body.market, "market")
        reservation_id: str | None = None
        try:
            with state.ledger_call("reserve") as core:
                veto, detail, reservation_id = core.reserve(order, markets)
        except LedgerUnavailable as exc:
            veto, detail = True, _unavailable_veto(order, str(exc), settings)
        if LEDGER_UNAVAILABLE in detail.get("reasons", ()):
            metrics.ledger_errors.labels("reserve").inc()
        metrics.reserve_seconds.observe(time.perf_counter() - started)
        metrics.record_decision(detail, order.confidence)
        state.notifier.notify()
        return StrictJSONResponse({"veto": veto, "detail": detail, "reservation_id": reservation_id})

    # -- after the decision ----------------------------------------------------------------
    after = {**_AUTH_ERRORS, **_VALIDATION, **_NOT_FOUND, **_REFUSED, **_LEDGER_DOWN}

    @app.post("/v1/fill", response_model=s.FillResponse, tags=["trade"], responses=after)
    def fill(body: s.FillRequest, _: TradeToken) -> Response:
        """Record a (partial) fill of a reservation; not idempotent: retry only when it surely did not arrive."""
        with state.ledger_call("fill") as core:
            result = core.fill(body.reservation_id, body.qty, body.price, body.fee)
        state.notifier.notify()
        return StrictJSONResponse(fill_dict(result))

    @app.post("/v1/release", response_model=s.ReleaseResponse, tags=["trade"], responses=after)
    def release(body: s.ReleaseRequest, _: TradeToken) -> Response:
        """Return a reservation's unfilled budget (safe to repeat: ``released`` is then false)."""
        with state.ledger_call("release") as core:
            released = core.release(body.reservation_id)
        state.notifier.notify()
        return StrictJSONResponse({"reservation_id": body.reservation_id, "released": released})

    @app.post("/v1/placed", response_model=s.PlacedResponse, tags=["trade"], responses=after)
    def placed(body: s.ReleaseRequest, _: TradeToken) -> Response:
        """Declare a reservation's order sent, BEFORE sending it: from then on the reservation keeps
        its budget until filled or released (no TTL), so a late fill never exceeds a cap.
        ``placed`` false means too late (expired or ended): do not send the order. Safe to repeat."""
        with state.ledger_call("placed") as core:
            sent = core.placed(body.reservation_id)
        state.notifier.notify()
        return StrictJSONResponse({"reservation_id": body.reservation_id, "placed": sent})

    @app.post("/v1/close", response_model=s.CloseResponse, tags=["trade"], responses=after)
    def close(body: s.CloseRequest, _: TradeToken) -> Response:
        """Close (or with ``qty`` reduce) a position at ``price``, booking realised PnL (and funding)."""
        with state.ledger_call("close") as core:
            result = core.close(body.strategy, body.symbol, body.price, body.qty, body.fee, body.funding)
        state.notifier.notify()
        return StrictJSONResponse(close_dict(result))

    @app.post("/v1/stop", response_model=s.StopResponse, tags=["trade"], responses=after)
    def move_stop(body: s.StopRequest, token: TradeToken) -> Response:
        """Tighten an open position's stop once its replacement stop order is on the exchange: the
        book's risk at stop drops for every process and a ``stop_moved`` event records it. A stop
        looser than the current one is 409, no open position 404, a bad price 422. Safe to repeat
        (the same stop again: ``moved`` false, nothing written)."""
        actor = token.label if not body.actor else f"{body.actor} ({token.label})"
        with state.ledger_call("stop") as core:
            move = core.move_stop(body.strategy, body.symbol, body.stop_price, body.reason, actor)
        state.notifier.notify()
        return StrictJSONResponse(move.to_dict())

    @app.post("/v1/nav", response_model=s.NavResponse, tags=["marks"],
              responses={**_AUTH_ERRORS, **_VALIDATION, **_LEDGER_DOWN})
    def nav(body: s.NavRequest, _: TradeToken) -> Response:
        """Store a NAV mark every process decides with (older than the stored one: ignored)."""
        try:
            snapshot = AccountSnapshot(nav=body.nav, ts_ms=body.ts_ms, available_balance=body.available_balance,
                                       day_start_nav=body.day_start_nav, wallet_balance=body.wallet_balance,
                                       margin_mode=body.margin_mode)
        except InputValidationError as exc:
            raise field_error(["body"], exc) from None
        with state.ledger_call("nav") as core:
            stored = core.mark_nav(snapshot, body.source)
        state.notifier.notify()
        return StrictJSONResponse({"stored": stored, "nav": snapshot.nav, "ts_ms": snapshot.ts_ms})

    @app.post("/v1/market", response_model=s.MarketResponse, tags=["marks"],
              responses={**_AUTH_ERRORS, **_VALIDATION, **_LEDGER_DOWN})
    def market(body: s.MarketRequest, _: TradeToken) -> Response:
        """Take market snapshots for this process's decisions (per worker process)."""
        snapshots = _markets(body.markets, "markets")
        with state.ledger_call("market") as core:
            core.update_markets(snapshots)
        return StrictJSONResponse({"accepted": len(snapshots)})

    # -- trading state ---------------------------------------------------------------------
    @app.get("/v1/state", response_model=s.StateResponse, tags=["state"],
             responses={**_AUTH_ERRORS, **_LEDGER_DOWN})
    def get_state(_: ReadToken) -> Response:
        """The trading state, who set it, when and why; the latest NAV mark."""
        with state.ledger_call("state") as core:
            return StrictJSONResponse(_state_dict(core.account()))

    @app.put("/v1/state", response_model=s.StateResponse, tags=["state"],
             responses={**_AUTH_ERRORS, **_VALIDATION, **_LEDGER_DOWN})
    def put_state(body: s.StateRequest, token: AdminToken) -> Response:
        """Set ACTIVE, REDUCING or HALTED with a reason; recorded with the actor and the token's label."""
        actor = token.label if not body.actor else f"{body.actor} ({token.label})"
        if not body.reason.strip():
            raise field_error(["body"], InputValidationError("reason", "must not be blank", body.reason))
        with state.ledger_call("state") as core:
            row = core.set_trading_state(TradingState(body.state), body.reason, actor)
        state.notifier.notify()
        return StrictJSONResponse(_state_dict(row))

    # -- monitor and kill switch -------------------------------------------------------------
    @app.get("/v1/monitor", tags=["monitor"], response_model=dict[str, Any],
             responses={**_AUTH_ERRORS, **_LEDGER_DOWN})
    def monitor(_: ReadToken) -> Response:
        """Risk metrics with units, open alerts, the kill switch's status and what the drawdown
        ladder and the triggers would do now (a dry-run pass: nothing is changed)."""
        from riskguard.monitor.service_calls import monitor_view

        with state.ledger_call("monitor") as core:
            return StrictJSONResponse(monitor_view(core.ledger, settings.posture))

    @app.post("/v1/killswitch", tags=["monitor"], response_model=dict[str, Any],
              responses={**_AUTH_ERRORS, **_VALIDATION, **_REFUSED, **_LEDGER_DOWN})
    def killswitch(body: KillSwitchRequest, token: AdminToken) -> Response:
        """Activate (or resume) the kill switch: every process halts on its next decision, and with
        an exchange configured the monitor cancels every order and closes every position; or release
        it. The report says what was cancelled, closed and failed. A release with none active is 409."""
        from riskguard.monitor.service_calls import kill_switch_command

        with state.ledger_call("killswitch") as core:
            report = kill_switch_command(core.ledger, settings.posture, body, actor=token.label)
        state.notifier.notify()
        return StrictJSONResponse(report)

    # -- reading ---------------------------------------------------------------------------
    @app.get("/v1/positions", response_model=s.PositionsResponse, tags=["read"],
             responses={**_AUTH_ERRORS, **_LEDGER_DOWN})
    def positions(_: ReadToken) -> Response:
        """Open positions and active reservations."""
        with state.ledger_call("positions") as core:
            return StrictJSONResponse({"positions": core.positions(), "reservations": core.reservations()})

    @app.get("/v1/decisions", response_model=s.DecisionsResponse, tags=["read"],
             responses={**_AUTH_ERRORS, **_VALIDATION, **_LEDGER_DOWN})
    def decisions(_: ReadToken, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  approved: bool | None = None, symbol: Annotated[str | None, Query(max_length=32)] = None,
                  strategy: Annotated[str | None, Query(max_length=128)] = None) -> Response:
        """The newest stored decisions first (optionally only approvals or vetoes, one symbol or strategy)."""
        with state.ledger_call("decisions") as core:
            records = core.decisions(limit, approved, symbol, strategy)
        return StrictJSONResponse({"decisions": [decision_summary(r) for r in records]})

    @app.get("/v1/decisions/{decision_id}", response_model=s.DecisionDetailResponse, tags=["read"],
             responses={**_AUTH_ERRORS, **_VALIDATION, **_NOT_FOUND, **_LEDGER_DOWN})
    def decision(decision_id: Annotated[str, Path(max_length=64)], _: ReadToken,
                 replay: Annotated[bool, Query(description="Re-run it under its stored posture and inputs")]
                 = True) -> Response:
        """One stored decision: inputs, full detail, ``explain`` (every gate and the book it saw) and,
        unless ``replay=false``, whether it reproduces exactly."""
        with state.ledger_call("decision") as core:
            record = core.decision(decision_id)
            outcome: dict[str, Any] | None = None
            if replay:
                try:
                    result = core.replay(record)
                    outcome = {"matches": result.matches, "error": None, "differences": {
                        k: {"stored": result.stored.get(k), "replayed": result.replayed.get(k)}
                        for k in result.differences}}
                except (ValueError, KeyError, TypeError) as exc:
                    outcome = {"matches": None, "differences": {}, "error": f"cannot be replayed: {exc}"}
        book = record.inputs.get("book") or {}
        explain = {"checks": record.detail.get("checks", []),
                   "book": {"positions": book.get("positions", []), "reservations": book.get("reservations", [])}}
        return StrictJSONResponse({**decision_summary(record), "version": record.version, "inputs": record.inputs,
                                   "detail": record.detail, "explain": explain, "replay": outcome})

    def dashboard_view() -> dict[str, Any]:
        core = state.core()
        view = core.budget()
        records = core.decisions(settings.decisions_shown, None, None, None)
        view["decisions"] = [dashboard_decision(r) for r in records]
        return view

    @app.get("/v1/dashboard", tags=["read"], responses={**_AUTH_ERRORS, **_LEDGER_DOWN})
    def dashboard(_: ReadToken) -> dict[str, Any]:
        """Everything the dashboard shows: every cap (used vs limit), positions, reservations, NAV
        history with drawdowns, the trading state with who and why, recent decisions."""
        with state.ledger_call("dashboard"):
            return dashboard_view()

    @app.get("/v1/events", include_in_schema=False)
    async def events(request: Request, _: ReadToken) -> StreamingResponse:
        """Server-sent events: a ``snapshot`` (the /v1/dashboard document) whenever it changes."""

        async def stream() -> AsyncIterator[str]:
            last = ""
            ends = time.monotonic() + EVENT_STREAM_MAX_S
            yield "retry: 1000\n\n"
            while time.monotonic() < ends and not await request.is_disconnected():
                try:
                    view = await run_in_threadpool(dashboard_view)
                except LedgerError as exc:
                    yield f"event: problem\ndata: {_json_text({'detail': str(exc)})}\n\n"
                else:
                    text = _json_text({k: v for k, v in view.items() if k != "ts_ms"})
                    if text != last:
                        last = text
                        yield f"event: snapshot\ndata: {text}\n\n"
                    else:
                        yield ": idle\n\n"
                await state.notifier.wait(settings.dashboard_poll_s)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    # -- operations ------------------------------------------------------------------------
    @app.get("/healthz", response_model=s.HealthResponse, tags=["ops"])
    def healthz() -> Response:
        """The process is up (says nothing about the ledger: see /readyz)."""
        return StrictJSONResponse({"status": "ok"})

    @app.get("/readyz", response_model=s.ReadyResponse, tags=["ops"],
             responses={503: {"description": "Not ready (fails closed)", "model": s.ReadyResponse}})
    def readyz() -> Response:
        """Ready only when the ledger answers at the newest schema and the posture is loaded."""
        try:
            core = state.core()
            core.ready()
        except Exception as exc:  # any failure means not ready: fail closed, say why
            problem = str(exc) or type(exc).__name__
            return StrictJSONResponse({"ready": False, "posture": None, "config_hash": None, "problem": problem},
                                      status_code=503)
        return StrictJSONResponse({"ready": True, "posture": core.limits.name,
                                   "config_hash": core.limits.config_hash, "problem": None})

    @app.get("/metrics", tags=["ops"], response_class=Response, responses={
        **_AUTH_ERRORS, 200: {"description": "Prometheus text exposition", "content": {"text/plain": {}}}})
    def metrics_endpoint(_: ReadToken) -> Response:
        """Prometheus metrics (see docs/service.md for every name), with the risk monitor's metrics
        (``riskguard_monitor_*``: exposure, drawdown, risk consumed, VaR/CVaR, margin, liquidation
        distance; docs/monitor.md) computed from the ledger at scrape time."""
        return Response(metrics.exposition() + _monitor_exposition(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    def _monitor_exposition() -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest

        from riskguard.model.clock import wall_clock_ms
        from riskguard.monitor.metrics import compute_metrics
        from riskguard.monitor.prometheus import MonitorGauges

        try:
            with state.ledger_call("metrics") as core:
                computed = compute_metrics(core.ledger, core.limits, now_ms=wall_clock_ms(), marks=core.marks())
        except LedgerUnavailable:  # counted in riskguard_ledger_errors; the rest of the scrape still answers
            return b""
        registry = CollectorRegistry()
        MonitorGauges(registry).update(computed)
        return bytes(generate_latest(registry))

    install_dashboard(app)
    return app


def route_scopes(app: FastAPI) -> dict[tuple[str, str], str | None]:
    """(method, path) -> the scope a route requires (None for public routes), for every route of the
    app's own route table, so a test can prove that no route was added without auth."""
    from fastapi.routing import APIRoute
    from starlette.routing import Route

    found: dict[tuple[str, str], str | None] = {}
    for route in app.routes:
        if not isinstance(route, Route):
            raise TypeError(f"route {route!r} is not a plain route; extend route_scopes to inspect it")
        scopes: list[str] = []
        if isinstance(route, APIRoute):
            scopes = [d.call.__name__.removeprefix("require_") for d in route.dependant.dependencies
                      if d.call is not None and getattr(d.call, "__name__", "").startswith("require_")]
            lean_scope: Scope | None = getattr(route.endpoint, "required_scope", None)
            scopes += [lean_scope.value] if lean_scope is not None else []
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found[(method, route.path)] = scopes[0] if scopes else None
    return found


def app_from_environment() -> FastAPI:
    """The app of one worker of ``riskguard serve --workers N`` (a uvicorn factory)."""
    from riskguard.service.settings import settings_from_environment

    return create_app(settings_from_environment())
