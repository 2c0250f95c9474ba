"""The OpenAPI document, made to tell the truth about errors and authentication.

FastAPI documents the happy path and a 422 in its own validation format; flowhook answers
every error with the envelope ``{"error": {"code", "message", "details"}}`` (see
:mod:`flowhook.api.errors`). :func:`install` post-processes the generated document once,
in one place, so that routers stay free of boilerplate:

* the envelope is the component schema ``Error`` and every documented 4xx uses it;
* statuses that follow from an operation's shape are added to it: 401/403 where an API key
  (or the operator token) is required, 422 where there is input to validate, 400 and 413
  where there is a body (malformed JSON, over the size limit), 404 where the path names a
  resource;
* the API key and the operator token are declared as Bearer security schemes on the
  operations that require them.

A status that depends on what a route does (a 409 on a name taken, a 400 on a cursor this
API never gave) is declared on the route or its router with :func:`error_responses`, e.g.
``@router.post(..., responses=error_responses(409))``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field
from starlette.routing import BaseRoute

from flowhook.api.deps import current_account, operator

ERROR_SCHEMA = "Error"
REF = f"#/components/schemas/{ERROR_SCHEMA}"

SCHEMA_REFS = "#/components/schemas/{model}"
"""``ref_template`` for a model's JSON schema in ``openapi_extra``."""

API_KEY = "apiKey"
OPERATOR_TOKEN = "operatorToken"

DESCRIPTIONS: dict[int, str] = {
    400: "Bad request: the body is not valid JSON (MALFORMED_JSON) or a parameter is not one "
    "this API gave (e.g. INVALID_CURSOR)",
    401: "Unauthorized: no credentials, or not valid ones",
    403: "Forbidden: the caller's address is not in the account's IP whitelist, or the "
    "operator API is disabled",
    404: "Not found: no such resource in this account",
    409: "Conflict with the resource's current state",
    410: "Gone",
    413: "Payload too large: the body is over the request size limit",
    422: "The request is not valid: ``details`` lists each problem with its path",
    429: "Too many requests",
}


class ErrorBody(BaseModel):
    code: str = Field(description="stable, machine-readable error code")
    message: str = Field(description="human-readable explanation")
    details: Any = Field(description="what the code needs: problems, conflicting ids, …")


class ErrorEnvelope(BaseModel):
    """Every error answer of the API."""

    error: ErrorBody


def _response(status: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS.get(status, "Error"),
        "content": {"application/json": {"schema": {"$ref": REF}}},
    }


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI ``responses=`` for error statuses a route (or router) really answers."""
    return {
        status: {"description": DESCRIPTIONS.get(status, "Error"), "model": ErrorEnvelope}
        for status in statuses
    }


def _calls(dependant: Dependant) -> Iterable[Callable[..., Any] | None]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def _security(route: APIRoute) -> str | None:
    calls = set(_calls(route.dependant))
    if operator in calls:
        return OPERATOR_TOKEN
    if current_account in calls:
        return API_KEY
    return None


def _inferred(route: APIRoute, operation: dict[str, Any], security: str | None) -> set[int]:
    """The statuses the machinery around the route answers: authentication (401/403), the
    body limit (413), FastAPI's parsing and validation of the body and parameters (400 for
    malformed JSON, 422), and a lookup by the id in the path (404)."""
    statuses: set[int] = set()
    parameters = operation.get("parameters", [])
    if security is not None:
        statuses |= {401, 403}
    if "requestBody" in operation:
        statuses.add(413)
    if route.body_field is not None:
        statuses |= {400, 422}
    if parameters:
        statuses.add(422)
    if any(p.get("in") == "path" and "enum" not in p.get("schema", {}) for p in parameters):
        statuses.add(404)
    return statuses


def document(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """``schema`` (FastAPI's document of ``routes``) with the truth about errors added."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    envelope = ErrorEnvelope.model_json_schema(ref_template=SCHEMA_REFS)
    schemas.update(envelope.pop("$defs", {}))
    schemas[ERROR_SCHEMA] = envelope
    components["securitySchemes"] = {
        API_KEY: {"type": "http", "scheme": "bearer", "description": "the account's API key"},
        OPERATOR_TOKEN: {
            "type": "http",
            "scheme": "bearer",
            "description": "the operator token (FLOWHOOK_OPERATOR_TOKEN)",
        },
    }
    for route in iter_route_contexts(routes):
        original = route.original_route
        if not isinstance(original, APIRoute) or not route.include_in_schema:
            continue
        security = _security(original)
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            if security is not None:
                operation["security"] = [{security: []}]
            responses = operation.setdefault("responses", {})
            declared = {int(s) for s in responses if s.isdigit() and 400 <= int(s) < 500}
            for status in sorted(declared | _inferred(original, operation, security)):
                given = responses.get(str(status), {}).get("description")
                responses[str(status)] = _response(status)
                if given and status != 422:  # 422: FastAPI's own "Validation Error"
                    responses[str(status)]["description"] = given
            operation["responses"] = dict(sorted(responses.items()))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                # a body schema a route declares itself (openapi_extra): its definitions
                # join the components, where its references (see SCHEMA_REFS) point
                schemas.update(content.get("schema", {}).pop("$defs", {}))
    _drop_unused(schema, ("HTTPValidationError", "ValidationError", ErrorEnvelope.__name__))
    forbid_nul_in_text(schema)  # the API refuses NUL in all text: 422 NUL_NOT_ALLOWED (api/text.py)
    return schema


def _drop_unused(schema: dict[str, Any], names: Iterable[str]) -> None:
    """FastAPI's own validation-error schemas (and the envelope under its class name) are
    no longer referenced once every 4xx points at ``Error``."""
    schemas = schema["components"]["schemas"]
    for name in names:
        others = {k: v for k, v in schema.items() if k != "components"}
        others["schemas"] = {k: v for k, v in schemas.items() if k != name}
        if f'"#/components/schemas/{name}"' not in json.dumps(others):
            schemas.pop(name, None)


NO_NUL = "^[^\\u0000]*$"
"""The pattern of a text without NUL characters."""


def forbid_nul_in_text(node: Any) -> None:
    """Document that no text input may hold a NUL character: every string schema without a
    pattern, format, enum or const gets :data:`NO_NUL`, and every map with free keys gets it
    as ``propertyNames``. For an API that refuses NUL in all text (422 NUL_NOT_ALLOWED);
    the schema must not say so before the API does (schema-invalid input must be refused)."""
    if isinstance(node, list):
        for item in node:
            forbid_nul_in_text(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(node):
        node["pattern"] = NO_NUL
    if node.get("type") == "object" and node.get("additionalProperties", True) is not False:
        node.setdefault("propertyNames", {"pattern": NO_NUL})
    for key, value in node.items():
        if key not in ("responses", "propertyNames"):
            forbid_nul_in_text(value)


def install(app: FastAPI) -> None:
    """Serve :func:`document` at ``/openapi.json`` (built on first use, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(FastAPI.openapi(app), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
