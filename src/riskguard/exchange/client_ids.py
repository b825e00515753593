"""Client order ids derived from ledger reservation ids, so every exchange order maps to a reservation.

Binance accepts ``newClientOrderId`` of 1-36 characters matching ``^[.A-Z:/a-z0-9_-]{1,36}$``.
An id is ``<reservation>.<leg>`` (``res-3f2a9c1b7e44-0000002a.sl``; a moved stop is ``.sl1``,
``.sl2``, ... with the move number in base 36); a reservation id too long or
with other characters is replaced by ``h`` + the first 26 hex digits of its BLAKE2b digest, so the
mapping stays deterministic (recomputed from the reservation, never stored anywhere else).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from riskguard.model.errors import InputValidationError

MAX_CLIENT_ORDER_ID = 36
"""Binance USD-M's limit on ``newClientOrderId`` (characters)."""

_ALLOWED = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_LEG = re.compile(r"^[a-z0-9]{1,6}$")
_SEPARATOR = "."
_MAX_LEG = 6
_DIGEST_HEX = MAX_CLIENT_ORDER_ID - _MAX_LEG - len(_SEPARATOR) - 3  # room for "h" + digest + "." + leg


def check_client_order_id(value: object) -> str:
    """``value`` if Binance would accept it as a client order id, else raise naming the field."""
    if not isinstance(value, str) or not _ALLOWED.match(value):
        raise InputValidationError("client_order_id", "must be 1-36 characters of A-Z a-z 0-9 . : / _ -", value)
    return value


def reservation_key(reservation_id: str) -> str:
    """The part of a client order id that stands for ``reservation_id`` (the id itself when short
    and plain enough, else a digest of it)."""
    if not reservation_id:
        raise InputValidationError("reservation_id", "must not be empty", reservation_id)
    limit = MAX_CLIENT_ORDER_ID - _MAX_LEG - len(_SEPARATOR)
    if len(reservation_id) <= limit and _ALLOWED.match(reservation_id) and _SEPARATOR not in reservation_id:
        return reservation_id
    return "h" + hashlib.blake2b(reservation_id.encode(), digest_size=16).hexdigest()[:_DIGEST_HEX]


def client_order_id(reservation_id: str, leg: str) -> str:
    """The client order id of order ``leg`` (``entry``, ``sl``, ``tp1``, ``trail``, ``close``) of a
    reservation: at most 36 characters, the same every time for the same inputs."""
    if not _LEG.match(leg):
        raise InputValidationError("leg", "must be 1-6 lowercase letters or digits", leg)
    return check_client_order_id(f"{reservation_key(reservation_id)}{_SEPARATOR}{leg}")


def key_of_client_order_id(client_id: str | None) -> str | None:
    """The ``reservation_key`` part of a client order id riskguard derived, or None for any other id."""
    if not client_id or _SEPARATOR not in client_id:
        return None
    key, leg = client_id.rsplit(_SEPARATOR, 1)
    return key if key and _LEG.match(leg) else None


def reservation_for(client_id: str | None, reservation_ids: Iterable[str]) -> str | None:
    """The reservation among ``reservation_ids`` that ``client_id`` was derived from, or None
    (an order riskguard did not place, or one of a reservation not listed)."""
    key = key_of_client_order_id(client_id)
    if key is None:
        return None
    for reservation_id in reservation_ids:
        if reservation_key(reservation_id) == key:
            return reservation_id
    return None


def close_order_id(tag: str, symbol: str) -> str:
    """The client order id of the reduce-only market order that closes ``symbol`` for ``tag`` (a
    kill switch or close-all run), e.g. ``kill-1733460000000-BTCUSDT.close``."""
    return client_order_id(f"{tag}-{symbol}", "close")


_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_STOP_LEG = "sl"
MAX_STOP_MOVES = 36 ** (_MAX_LEG - len(_STOP_LEG)) - 1
"""The most stop moves one reservation's position can number (``.slzzzz``): 1,679,615."""


def stop_order_id(reservation_id: str, move: int) -> str:
    """The client order id of the protective stop after ``move`` moves: move 0 is the exit plan's
    own stop (``<reservation>.sl``), move n the n-th replacement (``.sl1`` ... ``.sl9``, ``.sla``,
    ...: n in base 36), so a replacement never reuses a cancelled stop's id and maps back to its
    reservation. Raises naming ``move`` outside 0..MAX_STOP_MOVES."""
    if isinstance(move, bool) or not isinstance(move, int) or not 0 <= move <= MAX_STOP_MOVES:
        raise InputValidationError("move", f"must be a whole number in 0..{MAX_STOP_MOVES}", move)
    digits = ""
    while move:
        move, digit = divmod(move, 36)
        digits = _BASE36[digit] + digits
    return client_order_id(reservation_id, _STOP_LEG + digits)
