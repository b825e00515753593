"""Scoped bearer tokens: every route of the app's own route table refuses without a valid token (401)
and with a token lacking its scope (403), except the few declared public; tokens are stored hashed,
compared in constant time and never logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskguard.service.app import PUBLIC_PATHS, create_app, route_scopes
from riskguard.service.settings import tokens_from_environment
from riskguard.service.tokens import Scope, TokenConfigError, TokenStore, token_digest
from service_fixtures import ADMIN, READ, TOKENS, TRADE, LiveService, running, service_settings

TOKEN_OF = {"read": READ, "trade": TRADE, "admin": ADMIN}
# A token holding every scope but the one a route needs (the test tokens' scope sets differ).
WRONG_SCOPE = {"read": "scopeless-trade-admin", "trade": READ, "admin": TRADE}
EXTRA_TOKENS = ";scopeless-trade-admin:trade,admin"


def _routes() -> dict[tuple[str, str], str | None]:
    app = create_app(service_settings("sqlite:////nonexistent/never-opened.db"))
    return route_scopes(app)


ROUTES = _routes()
PROTECTED = sorted(key for key, scope in ROUTES.items() if scope is not None)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    settings = service_settings(f"sqlite:///{tmp_path_factory.mktemp('auth') / 'ledger.db'}")
    settings = type(settings)(**{**{f: getattr(settings, f) for f in settings.__slots__},
                                 "tokens": TokenStore.from_spec(TOKENS + EXTRA_TOKENS)})
    yield from running(settings)


def _path(path: str) -> str:
    return path.replace("{decision_id}", "some-decision")


def test_only_the_probes_the_api_description_and_the_dashboard_shell_are_public() -> None:
    public = {path for (_, path), scope in ROUTES.items() if scope is None}
    assert public == set(PUBLIC_PATHS)


def test_every_state_changing_route_needs_trade_or_admin() -> None:
    changing = {key: scope for key, scope in ROUTES.items() if key[0] in {"POST", "PUT", "DELETE", "PATCH"}}
    assert changing, "the route table lists no state-changing route"
    assert {scope for key, scope in changing.items() if key != ("POST", "/v1/check")} <= {"trade", "admin"}
    assert changing[("PUT", "/v1/state")] == "admin"


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_a_route_refuses_a_request_without_a_token(live: LiveService, method: str, path: str) -> None:
    with live.client(None) as http:
        response = http.request(method, _path(path), json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_a_route_refuses_an_unknown_token(live: LiveService, method: str, path: str) -> None:
    with live.client("not-a-real-token") as http:
        response = http.request(method, _path(path), json={})
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_a_route_refuses_a_token_without_its_scope(live: LiveService, method: str, path: str) -> None:
    scope = ROUTES[(method, path)]
    assert scope is not None
    with live.client(WRONG_SCOPE[scope]) as http:
        response = http.request(method, _path(path), json={})
    assert response.status_code == 403
    assert scope in response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_a_route_admits_a_token_with_its_scope(live: LiveService, method: str, path: str) -> None:
    scope = ROUTES[(method, path)]
    assert scope is not None
    if path == "/v1/events":
        with live.client(TOKEN_OF[scope]) as http, http.stream(method, path) as response:
            assert response.status_code == 200
        return
    with live.client(TOKEN_OF[scope]) as http:
        response = http.request(method, _path(path), json={})
    assert response.status_code not in (401, 403)


def test_the_authorization_scheme_must_be_bearer(live: LiveService) -> None:
    with live.client(None) as http:
        response = http.get("/v1/state", headers={"Authorization": f"Basic {READ}"})
    assert response.status_code == 401


def test_tokens_are_never_logged(live: LiveService, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with live.client(ADMIN) as http:
        http.put("/v1/state", json={"state": "ACTIVE", "reason": "log check"})
        http.get("/v1/state", headers={"Authorization": "Bearer wrong-secret-xyz"})
    text = caplog.text
    assert ADMIN not in text and "wrong-secret-xyz" not in text


def test_a_tokens_file_holds_only_digests_and_admits_the_clear_token(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"# ops tokens\n{token_digest('s3cret')}:trade, read\n\n{token_digest('root')}:admin # oncall\n")
    store = TokenStore.from_file(path)
    assert "s3cret" not in path.read_text()
    found = store.authenticate("s3cret")
    assert found is not None and found.scopes == {Scope.TRADE, Scope.READ}
    assert store.authenticate(token_digest("s3cret")) is None
    assert store.authenticate("root") is not None and store.authenticate("nope") is None


@pytest.mark.parametrize(("spec", "problem"), [
    ("abc", "expected token:scope"),
    ("abc:", "no scope"),
    ("abc:read,owner", "unknown scope"),
    (":read", "expected token:scope"),
])
def test_a_malformed_tokens_setting_is_refused_by_entry_without_echoing_the_token(spec: str, problem: str) -> None:
    with pytest.raises(TokenConfigError, match=problem) as caught:
        TokenStore.from_spec(spec)
    assert "abc" not in str(caught.value)


def test_a_malformed_tokens_file_line_is_refused_by_line_number(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"{token_digest('x')}:read\nplaintext-token:read\n")
    with pytest.raises(TokenConfigError, match="line 2"):
        TokenStore.from_file(path)


def test_the_service_refuses_to_start_without_any_token() -> None:
    with pytest.raises(TokenConfigError, match="no API token"):
        tokens_from_environment({})


def test_tokens_from_the_environment_and_a_file_are_merged(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"{token_digest('from-file')}:read\n")
    store = tokens_from_environment({"RISKGUARD_API_TOKENS": "from-env:trade",
                                     "RISKGUARD_API_TOKENS_FILE": str(path)})
    assert store.authenticate("from-env") is not None and store.authenticate("from-file") is not None
