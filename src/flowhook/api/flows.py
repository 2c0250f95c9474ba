"""Flows: create, list, read, replace (the test version), delete, publish (test → prod)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import APIRouter, Request, Response

from flowhook import codec
from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import SCHEMA_REFS, error_responses
from flowhook.engine.documents import load_json, load_yaml
from flowhook.engine.flow import CompiledFlow, FlowDocument, compile_flow
from flowhook.errors import Conflict, FlowTooLarge, NotFound, ValidationFailed
from flowhook.runtime import Runtime
from flowhook.store import flows as flow_repo
from flowhook.store.flows import FlowRecord
from flowhook.webhooks.credentials import seal_flow
from flowhook.widgets.webhook import missing_saved_webhooks

router = APIRouter()

BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the flow document, as JSON or (with a YAML content type) YAML",
        "content": {
            "application/json": {"schema": FlowDocument.model_json_schema(ref_template=SCHEMA_REFS)}
        },
    }
}
"""The body the routes read themselves (they take JSON or YAML), for the OpenAPI document."""


YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
IN_A_THREAD_OVER = 64 * 1024
"""JSON bodies larger than this are parsed and validated in a thread (YAML always is: its
loader is Python): a 256 KB flow takes tens of milliseconds, too long to hold the loop."""


async def _validated(
    rt: Runtime, account_id: str, request: Request
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The flow document from the body (JSON, or YAML with a YAML content type), validated
    and bounded: its stored JSON at most ``flow_max_bytes`` (413 ``FLOW_TOO_LARGE``); and
    its warnings: unreachable widgets, saved webhooks the account does not have (yet)."""
    raw = await request.body()
    if not raw.strip():
        raise ValidationFailed("a flow document is required", code="INVALID_FLOW")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_yaml = kind in YAML_TYPES
    max_bytes = rt.settings.flow_max_bytes

    def work() -> CompiledFlow:
        flow = compile_flow(load_yaml(raw) if is_yaml else load_json(raw))
        doc = flow.document.model_dump(exclude_none=True)
        size = len(codec.dumps(doc))
        if size > max_bytes:
            raise FlowTooLarge(
                f"the flow is {size} bytes of JSON, more than the {max_bytes} a flow may be",
                details={"bytes": size, "max_bytes": max_bytes},
            )
        return flow

    flow = await asyncio.to_thread(work) if is_yaml or len(raw) > IN_A_THREAD_OVER else work()
    missing = await rt.store.read(lambda c: missing_saved_webhooks(c, account_id, flow))
    warnings = [w.to_dict() for w in [*flow.warnings, *missing]]
    return flow.document.model_dump(exclude_none=True), warnings


def _sealed(
    rt: Any, document: dict[str, Any], stored: dict[str, Any] | None = None
) -> tuple[dict[str, Any], bytes | None]:
    """The document as stored and shown (secrets of webhook widgets ``***``) and its
    encrypted secret values; a ``***`` sent back keeps the value in ``stored``."""
    public, values = seal_flow(document, stored)
    return public, rt.cipher.encrypt(json.dumps(values)) if values else None


def _not_found(flow_id: str) -> NotFound:
    return NotFound(f"no flow {flow_id}", code="FLOW_NOT_FOUND")


async def _get(rt: Any, flow_id: str, account_id: str) -> FlowRecord:
    record: FlowRecord | None = await rt.store.read(lambda c: flow_repo.get(c, flow_id, account_id))
    if record is None:
        raise _not_found(flow_id)
    return record


@router.post(
    "/v1/flows", status_code=201, responses=error_responses(400, 409, 422), openapi_extra=BODY
)
async def create_flow(account: AccountDep, rt: RuntimeDep, request: Request) -> dict[str, Any]:
    doc, warnings = await _validated(rt, account.id, request)
    public, sealed = _sealed(rt, doc)
    record = await rt.store.write(
        lambda c: flow_repo.create(c, account.id, public, time.time(), sealed)
    )
    return {**record.to_api(), "warnings": warnings}


@router.get("/v1/flows")
async def list_flows(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    records = await rt.store.read(lambda c: flow_repo.list_for(c, account.id))
    return {
        "flows": [
            {
                "flow_id": r.flow_id,
                "name": r.name,
                "type": r.test_doc.get("type"),
                "published": r.prod_doc is not None,
                "updated_at": r.updated_at,
            }
            for r in records
        ]
    }


@router.get("/v1/flows/{flow_id}")
async def get_flow(flow_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return (await _get(rt, flow_id, account.id)).to_api()


@router.put("/v1/flows/{flow_id}", responses=error_responses(400, 409, 422), openapi_extra=BODY)
async def replace_flow(
    flow_id: str, account: AccountDep, rt: RuntimeDep, request: Request
) -> dict[str, Any]:
    current = await _get(rt, flow_id, account.id)
    doc, warnings = await _validated(rt, account.id, request)
    public, sealed = _sealed(rt, doc, current.secret_values("test", rt.cipher))
    record = await rt.store.write(
        lambda c: flow_repo.replace_test(c, flow_id, account.id, public, time.time(), sealed)
    )
    if record is None:
        raise _not_found(flow_id)
    rt.catalog.forget(flow_id=flow_id)
    return {**record.to_api(), "warnings": warnings}


@router.delete("/v1/flows/{flow_id}", status_code=204, responses=error_responses(409))
async def delete_flow(flow_id: str, account: AccountDep, rt: RuntimeDep) -> Response:
    await _get(rt, flow_id, account.id)

    def remove(conn: Any) -> bool:
        running = flow_repo.unfinished_executions(conn, flow_id)
        if running:
            raise Conflict(
                f"flow {flow_id} has {running} unfinished executions",
                code="FLOW_IN_USE",
                details={"unfinished_executions": running},
            )
        return flow_repo.remove(conn, flow_id, account.id)

    await rt.store.write(remove)
    rt.catalog.forget(flow_id=flow_id)
    return Response(status_code=204)


@router.post("/v1/flows/{flow_id}/publish", responses=error_responses(409))
async def publish_flow(flow_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    await _get(rt, flow_id, account.id)

    def publish(conn: Any) -> FlowRecord | None:
        current = flow_repo.get(conn, flow_id, account.id)
        if current is None:
            return None
        missing = missing_saved_webhooks(conn, account.id, compile_flow(current.test_doc))
        if missing:
            raise Conflict(
                "the flow names saved webhooks that do not exist; add them, then publish",
                code="WEBHOOK_NOT_FOUND",
                details=[m.to_dict() for m in missing],
            )
        return flow_repo.publish(conn, flow_id, account.id, time.time())

    record = await rt.store.write(publish)
    if record is None:
        raise _not_found(flow_id)
    rt.catalog.forget(flow_id=flow_id)
    return record.to_api()
