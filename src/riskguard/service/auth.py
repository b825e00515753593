"""Scoped bearer-token authentication: 401 without a valid token, 403 when the token lacks the
route's scope. The presented token is hashed and forgotten, never logged.

Routes declare it as a FastAPI dependency (``ReadToken``, ``TradeToken``, ``AdminToken``); the hot
path ``/v1/check`` calls :func:`admit` itself (riskguard.service.lean_route)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from riskguard.service.tokens import ApiToken, Scope, TokenStore

bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="A token from RISKGUARD_API_TOKENS or the tokens file; scopes read, trade, admin.")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def token_store(request: Request) -> TokenStore:
    """The app's tokens."""
    store: TokenStore = request.app.state.tokens
    return store


def admit(request: Request, credentials: HTTPAuthorizationCredentials | None, scope: Scope) -> ApiToken:
    """The token of ``credentials`` when it is known and carries ``scope``; HTTPException 401 / 403
    otherwise (a hash and a few constant-time compares: no I/O)."""
    if credentials is None or not credentials.credentials:
        raise HTTPException(401, "missing bearer token (Authorization: Bearer <token>)", headers=_CHALLENGE)
    token = token_store(request).authenticate(credentials.credentials)
    if token is None:
        raise HTTPException(401, "invalid bearer token", headers=_CHALLENGE)
    if scope not in token.scopes:
        raise HTTPException(403, f"this token lacks the {scope.value!r} scope")
    return token


def require(scope: Scope) -> Callable[..., Awaitable[ApiToken]]:
    """A dependency admitting only tokens that carry ``scope``; it returns the token (its label names
    the caller in the ledger). ``async`` because it does no I/O: FastAPI would otherwise run it in
    its threadpool, a thread hop per request."""

    async def dependency(request: Request,
                         credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ApiToken:
        return admit(request, credentials, scope)

    dependency.__name__ = f"require_{scope.value}"
    return dependency


ReadToken = Annotated[ApiToken, Depends(require(Scope.READ))]
TradeToken = Annotated[ApiToken, Depends(require(Scope.TRADE))]
AdminToken = Annotated[ApiToken, Depends(require(Scope.ADMIN))]
