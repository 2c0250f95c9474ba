"""Every error leaves the API as ``{"error": {"code", "message", "details"}}`` with a 4xx
status — malformed JSON, wrong types and unknown routes included — never a traceback."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from flowhook.errors import (
    BadRequest,
    Code,
    FlowhookError,
    ValidationFailed,
)
from flowhook.statuses import STATUS as STATUS
from flowhook.statuses import status_of as status_of

log = structlog.get_logger(__name__)


INTERNAL_ERROR: dict[str, Any] = {
    "error": {
        "code": Code.INTERNAL_ERROR,
        "message": "an unexpected error occurred",
        "details": None,
    }
}
"""The answer to an error nobody raised on purpose (logged, never shown)."""


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        headers=headers,
    )


def allowed_methods(app: Starlette, scope: Scope) -> list[str]:
    """The methods served at the request's path, for ``Allow`` (RFC 9110). Starlette's 405
    names only the methods of the first route that matched, but several routes may share a
    path (``GET`` and ``POST /v1/flows``). Where a literal path and a template both match
    (``/v1/webhooks/check`` and ``/v1/webhooks/{webhook_id}``), the most literal one is the
    resource, as OpenAPI matches paths."""
    by_path: dict[str, set[str]] = {}
    for route in iter_route_contexts(app.routes):
        if route.methods and route.path_format:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                by_path.setdefault(route.path_format, set()).update(route.methods)
    if not by_path:
        return []
    path = min(by_path, key=lambda p: (p.count("{"), -len(p)))
    return sorted(by_path[path])


def _path(loc: tuple[Any, ...]) -> str:
    path = "$"
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path") else loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


NOT_JSON = "the request body is not JSON: send it with the header Content-Type: application/json"
"""For a body sent under another content type: what ``curl -d`` sends without ``-H``."""
NO_BODY = "the request needs a JSON body (send {} when every field is left to its default)"
"""For a POST without a body (``curl -X POST`` alone)."""


def _not_json(error: Mapping[str, Any]) -> bool:
    """The body as a whole was refused as raw bytes: it came under a content type that is
    not JSON (FastAPI, and the trigger's fast path, hand such a body over unparsed)."""
    return tuple(error.get("loc", ())) == ("body",) and isinstance(error.get("input"), bytes)


def _no_body(error: Mapping[str, Any]) -> bool:
    return tuple(error.get("loc", ())) == ("body",) and error.get("type") == "missing"


def _message(error: Mapping[str, Any]) -> str:
    if _not_json(error):
        return NOT_JSON
    return NO_BODY if _no_body(error) else str(error.get("msg", ""))


def invalid_request(errors: Sequence[Mapping[str, Any]]) -> ValidationFailed:
    """The 422 for pydantic errors whose ``loc`` starts with where the value was (``body``,
    ``query``, ``path``), as FastAPI reports them: one ``details`` entry per error. A body
    refused as a whole (not JSON, or none) says what to send instead."""
    details = [{"path": _path(tuple(e.get("loc", ()))), "message": _message(e)} for e in errors]
    whole = next((e for e in errors if _not_json(e) or _no_body(e)), None)
    message = _message(whole) if whole is not None else "the request is not valid"
    return ValidationFailed(message, details=details)


def malformed_json() -> BadRequest:
    return BadRequest("the request body is not valid JSON", code=Code.MALFORMED_JSON)


def install(app: FastAPI) -> None:
    @app.exception_handler(FlowhookError)
    async def _flowhook(_request: Request, exc: FlowhookError) -> JSONResponse:
        return error_response(status_of(exc), exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        error = (
            malformed_json()
            if any(e.get("type") == "json_invalid" for e in errors)
            else invalid_request(errors)
        )
        return error_response(status_of(error), error.code, error.message, error.details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED, 401: Code.UNAUTHORIZED}
        code = codes.get(exc.status_code, Code.HTTP_ERROR)
        headers = dict(exc.headers or {})  # the exception's own headers are part of its answer
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":  # no route: a typo, mostly
            where = f"{request.method} {request.url.path}"
            message = f"no {where} here: the API reference at /docs lists every endpoint"
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", path=request.url.path)
        return JSONResponse(INTERNAL_ERROR, status_code=500)
