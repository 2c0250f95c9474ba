"""The trigger, ``POST /v1/flows/{flow_id}/executions``: every flow starts here, so it is the
API's hot path.

It is served by :func:`serve`, a bare ASGI endpoint that the application
(:class:`flowhook.api.app.App`) calls before Starlette's middleware and routing: FastAPI's
per-request machinery (dependency solving, body handling, response encoding), then
Starlette's layers, cost several times the trigger's own work (design notes §4,
docs/performance.md). :func:`serve` answers as FastAPI did, checking in FastAPI's order: the
body's size (413) is checked, the body read and parsed (400), the caller authenticated
(401/403), the body validated against
:class:`~flowhook.usecases.executions.Trigger` — the same pydantic model, so the same 422
messages — and then the use case :func:`flowhook.usecases.executions.start` runs. One
difference on purpose: a body FastAPI could not read for another reason than a JSON syntax
error (not UTF-8, nested thousands deep) was a 400 ``HTTP_ERROR``; here it is the 400
``MALFORMED_JSON`` that ``POST /v1/flows`` gives too. Text no database can store (a NUL
in the path or anywhere in the body, a lone surrogate) is refused with the 422 that
:class:`flowhook.api.text.TextGuard` gives every other route, after the body is parsed and
before the caller is authenticated, as the middleware does.

The FastAPI declaration :func:`trigger` stays so that the OpenAPI document describes the
endpoint; :func:`serve` shadows it, and both call the use case ``start``, directly (no
dependency solving, no extra await).
"""

from __future__ import annotations

import email.message
import re
from typing import Any, get_args

import structlog
from fastapi import APIRouter
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from flowhook import codec
from flowhook.api.deps import AccountDep, RuntimeDep, header, scope_account
from flowhook.api.errors import INTERNAL_ERROR, invalid_request, malformed_json, status_of
from flowhook.api.limits import read_body
from flowhook.api.text import check_body, check_target
from flowhook.errors import FlowhookError
from flowhook.runtime import Runtime
from flowhook.usecases.executions import Trigger, start, start_with

PATH = "/v1/flows/{flow_id}/executions"

log = structlog.get_logger(__name__)


router = APIRouter()


@router.post(PATH, status_code=202)
async def trigger(
    flow_id: str, body: Trigger, account: AccountDep, rt: RuntimeDep
) -> dict[str, str]:
    """Start an execution of the flow. Served by :func:`serve`; this declaration documents
    it."""
    return await start(rt, account, flow_id, body)


PATTERN = re.compile(r"/v1/flows/([^/]+)/executions")
"""The trigger's path (``{flow_id}`` as Starlette matches it): served by :func:`serve`."""


async def serve(
    scope: Scope, receive: Receive, send: Send, *, flow_id: str, max_bytes: int
) -> None:
    """The trigger as a bare ASGI endpoint; ``scope["app"]`` is the application."""
    try:
        raw = await read_body(scope, receive, max_bytes)
        if raw is None:
            return  # the client went away
        check_target(scope)  # after the size, as TextGuard does behind BodyLimit
        answer: dict[str, Any] = await _handle(scope, raw, flow_id)
        status = 202
    except FlowhookError as exc:
        status, answer = status_of(exc), exc.to_dict()
    except Exception:
        log.exception("unexpected error", path=scope["path"])
        status, answer = 500, INTERNAL_ERROR
    body = codec.dumps(answer)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _handle(scope: Scope, raw: bytes, flow_id: str) -> dict[str, str]:
    # read from the scope: a Starlette ``Request`` and its ``Headers`` cost more than the
    # two headers the trigger reads
    body = _parse(raw, header(scope, b"content-type"))
    check_body(raw)  # NUL or a lone surrogate anywhere: 422, as TextGuard answers elsewhere
    rt: Runtime = scope["app"].state.runtime
    account = await scope_account(scope, rt)
    if body is _MISSING:
        raise invalid_request([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    fields = _plain(body)
    if fields is not None:  # valid as it stands: what the model would hold
        return await start_with(rt, account, flow_id, *fields)
    try:
        # as FastAPI validates a body parameter (``from_attributes`` changes only the message
        # for a body that is not an object)
        parsed = Trigger.model_validate(body, from_attributes=True)
    except ValidationError as exc:
        raise invalid_request(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    return await start(rt, account, flow_id, parsed)


def _max_length(field: str) -> int:
    """The model's own bound on ``field`` (read from it: the rule stays written once)."""
    bounds = [
        m.max_length for m in Trigger.model_fields[field].metadata if hasattr(m, "max_length")
    ]
    return int(bounds[0])


_FIELDS = frozenset(Trigger.model_fields)
_VERSIONS = frozenset(get_args(Trigger.model_fields["version"].annotation))
_MAX_NUMBER = _max_length("cli")
assert _max_length("dnis") == _MAX_NUMBER
_MAX_VARIABLES = _max_length("variables")


def _plain(body: Any) -> tuple[str, dict[str, Any], str | None, str | None] | None:
    """``(version, variables, cli, dnis)`` of a body :class:`Trigger` accepts as it is —
    an object of its own fields only, each of the exact type parsed JSON gives, within its
    bounds — or None: anything else goes through the model, whose errors are the 422's.
    Validating the common body this way costs a tenth of the model's validation.
    ``variables`` is the body's own dict: ``start_with`` copies it (``input_variables``)."""
    if type(body) is not dict or not _FIELDS.issuperset(body):
        return None
    version = body.get("version", "prod")
    cli = body.get("cli")
    dnis = body.get("dnis")
    variables = body.get("variables")
    if variables is None:
        if "variables" in body:
            return None  # null is not an object: the model says so
        variables = {}
    elif type(variables) is not dict or len(variables) > _MAX_VARIABLES:
        return None
    if (
        type(version) is not str
        or version not in _VERSIONS
        or (cli is not None and (type(cli) is not str or len(cli) > _MAX_NUMBER))
        or (dnis is not None and (type(dnis) is not str or len(dnis) > _MAX_NUMBER))
    ):
        return None
    return version, variables, cli, dnis


_MISSING = object()


def _parse(raw: bytes, content_type: str) -> Any:
    """What FastAPI hands to validation: nothing for an empty body, the parsed JSON under a
    JSON content type, the raw bytes under any other (or none), which then fail validation."""
    if not raw:
        return _MISSING
    if not _is_json(content_type):
        return raw
    try:
        return codec.loads(raw)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested thousands deep
        raise malformed_json() from None


def _is_json(content_type: str) -> bool:
    if content_type == "application/json":
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
