"""/v1/check is a lean route (its token and body checked by hand, its dry run on a thread of its
own): it answers every request exactly as FastAPI's declared body and scope dependency answer the
same request on /v1/reserve, documents the same request body and token, and a dry run waiting for
the core's lock never holds up the event loop."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service_fixtures import READ, TRADE, LiveService, intent, prime, running, service_settings

pytestmark = pytest.mark.timeout(180)

_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
_intent_fields = ("intent_id", "strategy", "symbol", "side", "notional", "qty", "leverage", "stop_price", "colour")
_decide_like = st.fixed_dictionaries({}, optional={
    "intent": st.fixed_dictionaries({}, optional={k: _json for k in _intent_fields}) | _json,
    "signal": _json, "market": st.lists(_json, max_size=2) | _json})
_bodies = (st.binary(max_size=40) | _json.map(json.dumps) | _decide_like.map(json.dumps)
           | st.just(json.dumps({"intent": intent(notional=-5.0)})))
_content_types = st.sampled_from([None, "application/json", "application/json; charset=utf-8", "text/plain",
                                  "application/merge-patch+json", "multipart/form-data"])
_tokens = st.sampled_from([None, "not-a-token", TRADE])  # TRADE holds read too: both routes admit it


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    for service in running(service_settings(f"sqlite:///{tmp_path_factory.mktemp('lean') / 'ledger.db'}")):
        with service.client(TRADE) as http:
            prime(http)
        yield service


def _post(http: httpx.Client, path: str, body: str | bytes, content_type: str | None,
          token: str | None) -> httpx.Response:
    headers = {} if content_type is None else {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http.post(path, content=body, headers=headers)


@given(body=_bodies, content_type=_content_types, token=_tokens)
@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_check_answers_any_refused_request_exactly_as_a_declared_body_and_dependency_do(
        live: LiveService, body: str | bytes, content_type: str | None, token: str | None) -> None:
    with httpx.Client(base_url=live.url, timeout=10.0) as http:
        declared = _post(http, "/v1/reserve", body, content_type, token)
        lean = _post(http, "/v1/check", body, content_type, token)
    assert lean.status_code == declared.status_code
    assert lean.headers.get("www-authenticate") == declared.headers.get("www-authenticate")
    if declared.status_code != 200:  # a decided request: a reserve's answer differs from a dry run's
        assert lean.json() == declared.json()


def test_check_documents_the_same_request_body_and_token_as_reserve(live: LiveService) -> None:
    spec: dict[str, Any] = live.app.openapi()
    check, reserve = spec["paths"]["/v1/check"]["post"], spec["paths"]["/v1/reserve"]["post"]
    assert check["requestBody"] == reserve["requestBody"]
    assert check["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1] \
        in spec["components"]["schemas"]
    assert check["security"] == reserve["security"] == [{"bearer": []}]


def test_a_dry_run_waiting_for_the_cores_lock_never_holds_up_the_event_loop(live: LiveService) -> None:
    core = live.app.state.service.core()
    body = json.dumps({"intent": intent()})
    with ThreadPoolExecutor(1) as pool, live.client(READ) as http, live.client(READ) as other:
        with core._lock:
            waiting = pool.submit(_post, other, "/v1/check", body, "application/json", READ)
            time.sleep(0.3)  # the check has arrived and waits for the lock
            assert http.get("/healthz").status_code == 200  # the loop answers while the dry run waits
            assert not waiting.done()
        assert waiting.result(timeout=10).status_code == 200


def test_concurrent_checks_all_get_the_same_decision(live: LiveService) -> None:
    body = json.dumps({"intent": intent("same-intent")})
    with httpx.Client(base_url=live.url, timeout=10.0) as http, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _post(http, "/v1/check", body, "application/json", READ), range(32)))
    assert {a.status_code for a in answers} == {200}
    assert len({(a.json()["veto"], tuple(a.json()["detail"]["reasons"])) for a in answers}) == 1
