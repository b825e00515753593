"""Exchange errors: Binance error codes mapped to clear exceptions that keep the code and message.

Messages never carry credentials: every text passes through ``redact`` before it is stored.
"""

from __future__ import annotations

from riskguard.exchange.redaction import redact
from riskguard.model.errors import RiskguardError


class ExchangeError(RiskguardError):
    """An exchange refused or failed a request. ``code`` is Binance's error code when it gave one."""

    retryable = False

    def __init__(self, message: str, *, code: int | None = None, retry_after_s: float | None = None) -> None:
        self.code = code
        self.exchange_message = redact(message)
        self.retry_after_s = retry_after_s
        prefix = f"Binance error {code}: " if code is not None else ""
        super().__init__(prefix + self.exchange_message)


class ExchangeUnavailable(ExchangeError):
    """The exchange could not be reached or answered with a server error (5xx, timeout)."""

    retryable = True


class RateLimited(ExchangeError):
    """HTTP 429 (too many requests) or 418 (IP banned for ignoring 429s); wait ``retry_after_s``."""

    retryable = True


class TimestampOutsideRecvWindow(ExchangeError):
    """-1021: the request's timestamp is outside recvWindow (local clock drift)."""

    retryable = True


class AuthenticationFailed(ExchangeError):
    """-2014 / -2015 / -1022: API key or signature rejected."""


class MarginInsufficient(ExchangeError):
    """-2019: not enough margin for the order."""


class MinNotionalNotMet(ExchangeError):
    """-4164: the order's notional is below the symbol's minimum."""


class ReduceOnlyRejected(ExchangeError):
    """-2022 / -4118: a reduce-only order would not reduce the position."""


class OrderNotFound(ExchangeError):
    """-2011 / -2013: no such order."""


class DuplicateClientOrderId(ExchangeError):
    """-4116: the client order id is already used."""


class InvalidOrder(ExchangeError):
    """Any other refusal of an order's parameters (price, quantity, filters)."""


class InstrumentUnknown(ExchangeError):
    """The exchange does not list the symbol."""


STOP_KEPT = "previous_stop_kept"
"""A stop replacement failed before anything changed: the previous stop still protects the position."""
STOP_UNKNOWN = "unknown"
"""A stop replacement's outcome is unknown (the exchange did not answer): repeat the same call."""
NO_STOP = "no_stop"
"""The previous stop is cancelled and the new one was refused: the position has NO stop on the exchange."""
STOP_TRIGGERED = "previous_stop_triggered"
"""The previous stop had already fired (the position is closed or closing); nothing was placed."""


class StopReplaceFailed(ExchangeError):
    """A stop replacement (``Exchange.replace_stop``) did not end with the new stop in place.
    ``state`` says what the position holds now (:data:`STOP_KEPT`, :data:`STOP_UNKNOWN`,
    :data:`NO_STOP`, :data:`STOP_TRIGGERED`); ``cause`` is the exchange's own error. Repeating the
    same ``replace_stop`` call is safe in every state: it never leaves two stops."""

    def __init__(self, state: str, message: str, *, cause: ExchangeError | None = None) -> None:
        super().__init__(f"{message} [{state}]" + (f": {cause.exchange_message}" if cause is not None else ""),
                         code=None if cause is None else cause.code)
        self.state = state
        self.cause = cause


_BY_CODE: dict[int, type[ExchangeError]] = {
    -1001: ExchangeUnavailable,  # internal error / disconnected
    -1007: ExchangeUnavailable,  # timeout waiting for the backend: the order's status is unknown
    -1003: RateLimited,
    -1021: TimestampOutsideRecvWindow,
    -1022: AuthenticationFailed,
    -2014: AuthenticationFailed,
    -2015: AuthenticationFailed,
    -2019: MarginInsufficient,
    -4164: MinNotionalNotMet,
    -2022: ReduceOnlyRejected,
    -4118: ReduceOnlyRejected,
    -2011: OrderNotFound,
    -2013: OrderNotFound,
    -4116: DuplicateClientOrderId,
    -1121: InstrumentUnknown,
}


def error_for_code(code: int | None, message: str, *, http_status: int | None = None,
                   retry_after_s: float | None = None) -> ExchangeError:
    """The exception for a Binance error ``code`` (and HTTP status), keeping code and message."""
    if http_status in (418, 429):
        return RateLimited(message, code=code, retry_after_s=retry_after_s)
    if code is not None and code in _BY_CODE:
        return _BY_CODE[code](message, code=code, retry_after_s=retry_after_s)
    if http_status is not None and http_status >= 500:
        return ExchangeUnavailable(message, code=code)
    if code is not None and -4999 <= code <= -1100:
        return InvalidOrder(message, code=code)
    return ExchangeError(message, code=code, retry_after_s=retry_after_s)
