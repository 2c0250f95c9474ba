"""Flows as an API: create, list, read, replace (the test version), delete, publish
(test → prod), and the diff between test and prod. The rules are the use cases'
(``usecases/flows.py``); this router hands them the body as it came (bytes and content
type: JSON or YAML), and renders what they return."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import SCHEMA_REFS, error_responses
from flowhook.engine.flow import FlowDocument
from flowhook.usecases import flows
from flowhook.usecases.flows import FlowDiff, FlowSource, Saved

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


async def _source(request: Request) -> FlowSource:
    return FlowSource(await request.body(), request.headers.get("content-type", ""))


def _saved_view(saved: Saved) -> dict[str, Any]:
    return {**saved.record.to_api(), "warnings": saved.warnings}


@router.post(
    "/v1/flows", status_code=201, responses=error_responses(400, 409, 422), openapi_extra=BODY
)
async def create_flow(account: AccountDep, rt: RuntimeDep, request: Request) -> dict[str, Any]:
    return _saved_view(await flows.create(rt, account, await _source(request)))


@router.get("/v1/flows")
async def list_flows(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return {
        "flows": [
            {
                "flow_id": r.flow_id,
                "name": r.name,
                "type": r.test_doc.get("type"),
                "published": r.prod_doc is not None,
                "updated_at": r.updated_at,
            }
            for r in await flows.list_all(rt, account)
        ]
    }


@router.get("/v1/flows/{flow_id}")
async def get_flow(flow_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return (await flows.get(rt, account, flow_id)).to_api()


@router.put("/v1/flows/{flow_id}", responses=error_responses(400, 409, 422), openapi_extra=BODY)
async def replace_flow(
    flow_id: str, account: AccountDep, rt: RuntimeDep, request: Request
) -> dict[str, Any]:
    return _saved_view(await flows.replace(rt, account, flow_id, await _source(request)))


@router.delete("/v1/flows/{flow_id}", status_code=204, responses=error_responses(409))
async def delete_flow(flow_id: str, account: AccountDep, rt: RuntimeDep) -> Response:
    await flows.delete(rt, account, flow_id)
    return Response(status_code=204)


@router.post("/v1/flows/{flow_id}/publish", responses=error_responses(409))
async def publish_flow(flow_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return (await flows.publish(rt, account, flow_id)).to_api()


@router.get("/v1/flows/{flow_id}/diff")
async def diff_flow(flow_id: str, account: AccountDep, rt: RuntimeDep) -> FlowDiff:
    """What publishing would change: top-level fields, widgets added, removed, changed."""
    return await flows.diff(rt, account, flow_id)
