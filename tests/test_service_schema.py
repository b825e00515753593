"""Schemathesis against the service's own /openapi.json, under real uvicorn on 127.0.0.1: at least
1,000 generated requests in all (schema-valid and schema-invalid ones), no server error, every
response as the spec documents it (status code, content type, body schema, headers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from service_fixtures import TOKENS, LiveService, prime, running, service_settings

schemathesis = pytest.importorskip("schemathesis", reason="needs schemathesis (the test extra)")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from riskguard.service.app import create_app  # noqa: E402
from riskguard.service.tokens import TokenStore  # noqa: E402

FUZZ_TOKEN = "fuzz-all-scopes"
MIN_CASES = 1_000
EXAMPLES = 70  # per operation and generation mode
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance)
SPEC: dict[str, Any] = create_app(service_settings("sqlite:////nonexistent/never-opened.db")).openapi()
OPERATIONS = [(method, path, mode) for path, item in sorted(SPEC["paths"].items()) for method, operation in item.items()
              for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
              if mode is GenerationMode.POSITIVE or operation.get("parameters") or operation.get("requestBody")]
_sent: dict[str, int] = {}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    base = service_settings(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'ledger.db'}")
    fuzz = type(base)(**{**{f: getattr(base, f) for f in base.__slots__},
                         "tokens": TokenStore.from_spec(f"{TOKENS};{FUZZ_TOKEN}:read,trade,admin")})
    for service in running(fuzz):
        with service.client(FUZZ_TOKEN) as http:
            prime(http)
        yield service


def test_the_spec_is_openapi_3_1_and_documents_every_api_route() -> None:
    assert SPEC["openapi"].startswith("3.1")
    assert {"/v1/check", "/v1/reserve", "/v1/fill", "/v1/release", "/v1/close", "/v1/stop", "/v1/nav", "/v1/state",
            "/v1/positions", "/v1/decisions", "/v1/decisions/{decision_id}", "/healthz", "/readyz",
            "/metrics"} <= set(SPEC["paths"])


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("method", "path", "mode"), OPERATIONS,
                         ids=[f"{m.upper()} {p} {mode.value}" for m, p, mode in OPERATIONS])
def test_generated_requests_get_documented_answers_and_never_a_server_error(
        live: LiveService, method: str, path: str, mode: GenerationMode) -> None:
    operation = schemathesis.openapi.from_dict(SPEC)[path][method.upper()]
    key = f"{method.upper()} {path} {mode.value}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def run(case: Any) -> None:
        response = case.call(base_url=live.url, headers={"Authorization": f"Bearer {FUZZ_TOKEN}"}, timeout=30)
        _sent[key] = _sent.get(key, 0) + 1
        case.validate_response(response, checks=CHECKS)

    run()


def test_the_suite_sent_at_least_a_thousand_generated_requests() -> None:
    total = sum(_sent.values())
    assert total >= MIN_CASES, f"only {total} generated requests: {_sent}"
