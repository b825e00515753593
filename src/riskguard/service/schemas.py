"""Request and response bodies of the HTTP API (pydantic, validated once at the edge).

The request models mirror the library's ``OrderIntent``, ``Signal``, ``MarketSnapshot`` and
``AccountSnapshot`` field for field (unknown keys are refused by name); :mod:`riskguard.service.app`
turns them into those classes, whose own validation then applies (a malformed value is a 422 that
names the field). Sizes are USDT notional unless a field says qty; times are UTC epoch ms.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

StateName = Literal["ACTIVE", "REDUCING", "HALTED"]
LATEST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def _printable(value: str) -> str:
    if any(ord(c) < 32 for c in value):
        raise ValueError("must not contain control characters")
    return value


# The ledger's column widths bound ids and names; control characters (NUL above all) cannot be stored.
Id = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_printable)]
ReservationId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable)]
SymbolName = Annotated[str, Field(min_length=1, max_length=32, description="e.g. BTCUSDT"),
                       AfterValidator(_printable)]
SourceName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable)]
EpochMs = Annotated[int, Field(ge=0, le=LATEST_MS, description="UTC epoch milliseconds")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntentBody(_Body):
    """An order intent (``riskguard.OrderIntent``): give ``notional`` (USDT) or ``qty`` (base units)."""

    intent_id: Id = Field(description="Unique per intent; a retried reserve with the same id returns the "
                                       "first decision.")
    strategy: Id
    symbol: SymbolName
    side: str = Field(description="BUY or SELL (LONG / SHORT accepted)")
    notional: float | None = Field(default=None, description="USDT")
    qty: float | None = Field(default=None, description="base units")
    leverage: float = 1.0
    price: float | None = Field(default=None, description="limit price USDT; null = market at the mark")
    stop_price: float | None = None
    take_profit_price: float | None = None
    expected_rr: float | None = Field(default=None, description="reward / risk (R multiple)")
    confidence: float | None = Field(default=None, description="0..1")
    reduce_only: bool = False
    source: SourceName | None = None
    ts_ms: EpochMs | None = None
    mode: Literal["demo", "paper", "live"] | None = Field(
        default=None, description="execution mode the order will be placed in; null = the posture's")


class SignalBody(_Body):
    """A signal without a size (``riskguard.Signal``): the engine sizes it from the posture."""

    signal_id: Id = Field(description="Unique per signal; it is the intent id of the sized intent.")
    strategy: Id
    symbol: SymbolName
    side: str = Field(description="BUY or SELL (LONG / SHORT accepted)")
    confidence: float | None = None
    expected_rr: float | None = None
    stop_price: float | None = None
    take_profit_price: float | None = None
    atr: float | None = Field(default=None, description="ATR in price units")
    leverage: float | None = None
    price: float | None = None
    source: SourceName | None = None
    ts_ms: EpochMs | None = None
    mode: Literal["demo", "paper", "live"] | None = Field(
        default=None, description="execution mode the order will be placed in; null = the posture's")


class MarketBody(_Body):
    """Top of book and mark price of one symbol (``riskguard.MarketSnapshot``)."""

    symbol: SymbolName
    mark_price: float
    ts_ms: EpochMs
    bid: float | None = None
    ask: float | None = None
    exchange_ts_ms: EpochMs | None = None
    atr: float | None = None


class DecideRequest(_Body):
    """Body of ``/v1/check`` and ``/v1/reserve``: exactly one of ``intent`` or ``signal``, and any
    fresh market snapshots to decide with (taken before the decision, as ``/v1/market`` would)."""

    intent: IntentBody | None = None
    signal: SignalBody | None = None
    market: list[MarketBody] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _one_order(self) -> DecideRequest:
        if (self.intent is None) == (self.signal is None):
            raise ValueError("give exactly one of intent or signal")
        return self


class CheckResponse(BaseModel):
    """A dry run's verdict: ``veto`` True = blocked; ``detail`` is the full decision detail
    (docs/decision.md). Non-finite numbers appear as the strings "inf", "-inf", "nan"."""

    veto: bool
    detail: dict[str, Any]


class ReserveResponse(CheckResponse):
    """A recorded decision; ``reservation_id`` is set for approved risk-adding intents."""

    reservation_id: str | None


class FillRequest(_Body):
    """A (partial) fill of a reservation: qty in base units, price and fee in USDT."""

    reservation_id: ReservationId
    qty: float
    price: float
    fee: float = 0.0


class FillResponse(BaseModel):
    """The position after the fill (signed qty, long > 0), the reservation's status, realised PnL (USDT)."""

    reservation_id: str
    position_qty: float
    reservation_status: str
    realized_pnl: float


class ReleaseRequest(_Body):
    """Return a reservation's unfilled budget."""

    reservation_id: ReservationId


class PlacedResponse(BaseModel):
    """``placed`` False: too late, the reservation expired or ended; the order must not be sent."""

    reservation_id: str
    placed: bool


class ReleaseResponse(BaseModel):
    """``released`` False: the reservation was no longer active (filled, released or expired)."""

    reservation_id: str
    released: bool


class CloseRequest(_Body):
    """Close (or with ``qty`` reduce) a position at ``price`` USDT; ``funding`` USDT (> 0 received)."""

    strategy: Id
    symbol: SymbolName
    price: float
    qty: float | None = None
    fee: float = 0.0
    funding: float = 0.0


class CloseResponse(BaseModel):
    """Realised PnL of the close net of the fee (USDT) and the signed quantity left (0 = flat)."""

    strategy: Id
    symbol: SymbolName
    qty: float
    price: float
    realized_pnl: float
    position_qty: float


class StopRequest(_Body):
    """Tighten the stop of an open position to ``stop_price`` USDT, once the replacement stop order is
    on the exchange. ``reason`` names the rule that moved it (e.g. ``chandelier``, ``high_vol``)."""

    strategy: Id
    symbol: SymbolName
    stop_price: float = Field(description="USDT; never looser than the position's current stop")
    reason: Annotated[str, Field(min_length=1, max_length=64, description="the rule that moved the stop"),
                      AfterValidator(_printable)] = "manual"
    actor: Annotated[str, Field(max_length=64, description="who moved it (recorded with the token's label)"),
                     AfterValidator(_printable)] | None = None


class StopResponse(BaseModel):
    """The stop before (null: the position had none) and after (USDT), whether it changed (false: the
    same stop again, nothing written), the loss at the new stop (USDT) and the ledger version after it."""

    strategy: str
    symbol: str
    side: str
    previous_stop: float | None
    stop_price: float
    moved: bool
    reason: str
    risk_usdt: float
    version: int


class NavRequest(_Body):
    """A NAV mark (``riskguard.AccountSnapshot``), USDT at ``ts_ms``."""

    nav: float
    ts_ms: EpochMs
    available_balance: float | None = Field(default=None, description="USDT free for new margin")
    day_start_nav: float | None = None
    wallet_balance: float | None = Field(default=None, description="USDT, before unrealised PnL")
    margin_mode: Literal["isolated", "cross"] | None = None
    source: Annotated[str, Field(min_length=1, max_length=32, description="where the mark comes from"),
                      AfterValidator(_printable)] = "api"


class NavResponse(BaseModel):
    """``stored`` False: the mark was older than the stored one and was ignored."""

    stored: bool
    nav: float
    ts_ms: int


class MarketRequest(_Body):
    """Market snapshots for this process's decisions (per process: with several workers, send them
    with each check / reserve instead)."""

    markets: list[MarketBody] = Field(max_length=1000)


class MarketResponse(BaseModel):
    """How many snapshots were taken."""

    accepted: int


class StateRequest(_Body):
    """A new trading state with the reason; ``actor`` names who (recorded with the token's label)."""

    state: StateName
    reason: Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_printable)]
    actor: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable)] | None = None


class StateResponse(BaseModel):
    """The account's trading state, who changed it, when and why; the latest NAV mark."""

    account: str
    trading_state: str
    reason: str
    actor: str
    ts_ms: int
    nav: float | None
    nav_ts_ms: int | None
    realized_pnl: float
    mode: str


class PositionsResponse(BaseModel):
    """Open positions and active reservations (budget held until filled, released or expired)."""

    positions: list[dict[str, Any]]
    reservations: list[dict[str, Any]]


class DecisionSummary(BaseModel):
    """One stored decision in brief."""

    decision_id: str
    intent_id: str
    ts_ms: int
    strategy: Id
    symbol: SymbolName
    side: str | None
    approved: bool
    verdict: str
    reasons: list[str]
    notional: float | str | None
    reservation_id: str | None
    config_hash: str


class DecisionsResponse(BaseModel):
    """The newest stored decisions first."""

    decisions: list[DecisionSummary]


class ReplayOutcome(BaseModel):
    """``matches``: the decision reproduces exactly under its stored posture and inputs (null when it
    could not be replayed: ``error`` says why); ``differences`` maps each differing field to
    ``{"stored": ..., "replayed": ...}``."""

    matches: bool | None
    differences: dict[str, Any]
    error: str | None


class DecisionDetailResponse(DecisionSummary):
    """A stored decision with its inputs, the full detail, ``explain`` (every gate with observed value,
    threshold and headroom; the book it was decided against) and ``replay``."""

    version: int
    inputs: dict[str, Any]
    detail: dict[str, Any]
    explain: dict[str, Any]
    replay: ReplayOutcome | None


class HealthResponse(BaseModel):
    """The process is up."""

    status: str


class ReadyResponse(BaseModel):
    """``ready`` only when the ledger answers at the newest schema and the posture is loaded."""

    ready: bool
    posture: str | None
    config_hash: str | None
    problem: str | None


class ErrorResponse(BaseModel):
    """An error with a one-line message."""

    detail: str


class FieldError(BaseModel):
    """One invalid field: ``loc`` is its path in the request."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    """A malformed request (422): every invalid field by name."""

    detail: list[FieldError]
