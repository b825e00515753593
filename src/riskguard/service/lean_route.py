"""Lean routes: a JSON POST route whose bearer token and body are checked by hand instead of by
FastAPI's dependency and body machinery, with exactly the answers and the spec FastAPI gives for a
scope dependency (``ReadToken``...) and a declared body parameter. Only for the hot path
(``/v1/check``), where that machinery costs ~50 us of a ~480 us request (docs/performance.md).

The same answers, in FastAPI's order: a body that is not JSON is a 422 ``json_invalid`` at
``["body", <offset>]`` and one that is not UTF-8 a 400, even without a token (FastAPI parses the body
first); then the token (401 / 403, riskguard.service.auth); then the body: none is a 422 ``missing`` at
``["body"]``, a content type that is not JSON (``application/json``, ``application/*+json``) leaves the
bytes unparsed so that the model refuses them, and each invalid field is a 422 located under ``"body"``.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from riskguard.model.codec import decode
from riskguard.service.auth import admit, bearer
from riskguard.service.tokens import Scope

Model = TypeVar("Model", bound=BaseModel)
_JSON = "application/json"


Endpoint = Callable[[Model], Awaitable[Response]]


def lean(scope: Scope, model: type[Model]) -> Callable[[Endpoint[Model]], Callable[[Request], Awaitable[Response]]]:
    """Decorator: an ``async (body) -> Response`` endpoint as an ``async (request) -> Response`` one
    that admits only tokens carrying ``scope`` (named by its ``required_scope``, for
    riskguard.service.app.route_scopes) and validates the body as ``model``. Give the route
    ``openapi_extra=lean_openapi(model)``."""

    def wrap(endpoint: Endpoint[Model]) -> Callable[[Request], Awaitable[Response]]:
        async def route(request: Request) -> Response:
            document = await _json_document(request)
            admit(request, await bearer(request), scope)
            return await endpoint(_validated(document, model))

        route.__name__, route.__doc__ = endpoint.__name__, endpoint.__doc__  # FastAPI's operation id, description
        route.required_scope = scope  # type: ignore[attr-defined]
        return route

    return wrap


def lean_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """A lean route's ``openapi_extra``: the request body and the token that a declared body and a
    scope dependency document. The model's schema is in the spec's components as long as another
    route declares it as its body (``/v1/reserve`` declares ``DecideRequest``)."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"content": {_JSON: {"schema": schema}}, "required": True},
            "security": [{bearer.scheme_name: []}]}


_ABSENT = object()  # an empty body


def _is_json(content_type: str | None) -> bool:
    """FastAPI's test of a JSON content type (its parse of the header only when the header is not
    plainly ``application/json``)."""
    if content_type is None:
        return False  # FastAPI's strict content type: a body without one is not parsed
    if content_type == _JSON:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


async def _json_document(request: Request) -> Any:
    """The body's JSON document (its bytes when the content type is not JSON, ``_ABSENT`` when
    empty); 422 when it is not JSON, 400 when not UTF-8, as FastAPI answers."""
    raw = await request.body()
    if not raw:
        return _ABSENT
    if not _is_json(request.headers.get("content-type")):
        return raw
    try:
        return decode(raw)
    except json.JSONDecodeError as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                                       "input": {}, "ctx": {"error": exc.msg}}], body=exc.doc) from None
    except ValueError:  # not UTF-8 (nor UTF-16 / UTF-32)
        raise HTTPException(400, "There was an error parsing the body") from None


def _validated(document: Any, model: type[Model]) -> Model:
    """``document`` as ``model``, each invalid field a 422 located under ``"body"``."""
    if document is _ABSENT:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}])
    try:
        return model.model_validate(document, from_attributes=True)
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])}
                                      for error in exc.errors(include_url=False)], body=document) from None
