"""The dashboard page at ``/`` and its two assets, served from the package (no CDN, no external
network). The page is an empty shell without a token: it takes one from the URL fragment
(``/#token=...``, never sent to the server) or a form, then reads ``/v1/events`` (server-sent
events over ``fetch``, so the token travels in the Authorization header, not the URL)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

_ASSETS = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}
_SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                                "script-src 'self'; connect-src 'self'",
                     "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                     "Cache-Control": "no-cache"}


@cache
def asset(name: str) -> str:
    """The text of a packaged dashboard file (read once)."""
    return resources.files("riskguard.service").joinpath("static", name).read_text(encoding="utf-8")


def install_dashboard(app: FastAPI) -> None:
    """Add ``GET /`` and ``GET /static/dashboard.js|css`` (public: they hold no data)."""

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(asset("dashboard.html"), headers=_SECURITY_HEADERS)

    for name, media_type in _ASSETS.items():
        app.add_api_route(f"/static/{name}", _asset_route(name, media_type), methods=["GET"],
                          include_in_schema=False)


def _asset_route(name: str, media_type: str) -> Callable[[], Response]:
    def serve() -> Response:
        return Response(asset(name), media_type=media_type, headers=_SECURITY_HEADERS)

    return serve
