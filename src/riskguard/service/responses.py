"""The service's JSON responses and error mapping: strict JSON (non-finite numbers as the strings
"inf", "-inf", "nan", as the CLI's ``--json`` prints them), and every failure a clear status with a
message or the invalid field, never a traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from riskguard.ledger.errors import LedgerError, LedgerNotFound, LedgerUnavailable
from riskguard.model.codec import encode as dumps
from riskguard.model.codec import printable
from riskguard.model.errors import InputValidationError

log = logging.getLogger("riskguard.service")


class StrictJSONResponse(JSONResponse):
    """Compact strict JSON: riskguard's one encoder (the ledger's, built once), and the non-finite
    conversion only when its text shows a non-finite number (or a string that merely looks like one)."""

    def render(self, content: Any) -> bytes:
        text = dumps(content)
        if "Infinity" in text or "NaN" in text:
            text = json.dumps(printable(content), allow_nan=False, separators=(",", ":"))
        return text.encode("ascii")


class FieldRejected(Exception):
    """A request field the library refused (its InputValidationError), located in the request."""

    def __init__(self, loc: list[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def field_error(prefix: list[str | int], exc: InputValidationError) -> FieldRejected:
    """The library's validation error as a located 422 (``prefix`` is where the object sits)."""
    return FieldRejected([*prefix, exc.field], str(exc))


def _text_of(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _validation(loc: list[str | int], message: str) -> StrictJSONResponse:
    return StrictJSONResponse({"detail": [{"loc": loc, "msg": message, "type": "value_error"}]}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Map the library's errors onto HTTP statuses: invalid field 422, unknown id 404, refused by
    the ledger's rules 409, ledger unreachable 503, anything unexpected 500 with no internals."""

    async def malformed(_: Request, exc: Exception) -> StrictJSONResponse:
        # FastAPI's own 422, in strict JSON: its handler fails (a 500) when a rejected value is a
        # non-finite number (a body with NaN or Infinity) or bytes that are not UTF-8 (a body sent
        # without a JSON content type).
        assert isinstance(exc, RequestValidationError)
        errors = jsonable_encoder(exc.errors(), custom_encoder={bytes: _text_of})
        return StrictJSONResponse({"detail": errors}, status_code=422)

    async def rejected(_: Request, exc: Exception) -> StrictJSONResponse:
        assert isinstance(exc, FieldRejected)
        return _validation(exc.loc, exc.message)

    async def invalid(_: Request, exc: Exception) -> StrictJSONResponse:
        assert isinstance(exc, InputValidationError)
        return _validation(["body", exc.field], str(exc))

    async def not_found(_: Request, exc: Exception) -> StrictJSONResponse:
        return StrictJSONResponse({"detail": str(exc)}, status_code=404)

    async def unavailable(_: Request, exc: Exception) -> StrictJSONResponse:
        return StrictJSONResponse({"detail": str(exc)}, status_code=503)

    async def refused(_: Request, exc: Exception) -> StrictJSONResponse:
        return StrictJSONResponse({"detail": str(exc)}, status_code=409)

    async def unexpected(request: Request, exc: Exception) -> StrictJSONResponse:
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
        return StrictJSONResponse({"detail": f"internal error ({type(exc).__name__}); see the service log"},
                                  status_code=500)

    app.add_exception_handler(RequestValidationError, malformed)
    app.add_exception_handler(FieldRejected, rejected)
    app.add_exception_handler(InputValidationError, invalid)
    app.add_exception_handler(LedgerNotFound, not_found)
    app.add_exception_handler(LedgerUnavailable, unavailable)
    app.add_exception_handler(LedgerError, refused)
    app.add_exception_handler(Exception, unexpected)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid bearer token"},
    403: {"description": "The token lacks the route's scope"},
}
"""Documented error responses of every authenticated route (models added in app.py)."""
