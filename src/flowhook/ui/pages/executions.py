"""The Executions pages: a search (UUID, contact number, flow, status, time — the filters
``usecases.executions.ExecutionFilter`` has), and an execution's page: its flow drawn with
the path it took coloured, the timeline of its steps (widget, exit, duration, variables
changed, warnings, a webhook widget's request and response), its variables, and the
deliveries it made (the flow-complete message first) with links to them.

A running or waiting execution's page stays live: the part that changes is re-rendered on
the server and pushed with Server-Sent Events (``ui/sse.py``) until the execution ends;
without JavaScript the page is a snapshot with a Refresh link.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from flowhook.domain.account import Account
from flowhook.engine.state import Status, within_depth
from flowhook.errors import NotFound
from flowhook.runtime import Runtime
from flowhook.ui.app import page_router
from flowhook.ui.drawing import interactive_svg
from flowhook.ui.render import render
from flowhook.ui.session import VisitorDep, runtime_of
from flowhook.ui.sse import live
from flowhook.usecases import deliveries, drawings, executions, flows, webhooks
from flowhook.usecases.deliveries import DeliveryFilter
from flowhook.usecases.executions import ExecutionFilter

router = page_router()

SEARCH_FIELDS = ("contact", "flow_id", "status", "request_id", "since", "until")
"""The search form's filters, in order; one the use case's filter lacks is not offered. A
UUID is not a filter: it names one execution, and the search goes to its page."""
TIME_FIELDS = ("since", "until")
PAGE_SIZE = 50


def searchable() -> list[str]:
    return [name for name in SEARCH_FIELDS if name in ExecutionFilter.model_fields]


def _local_time(value: str, timezone: str) -> dt.datetime | str:
    """A ``datetime-local`` field's value read in the account's time zone (the page shows
    times in it); text that is no date-time is passed on for the filter to refuse."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(timezone))
        except (KeyError, ValueError):
            moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _field_errors(exc: ValidationError) -> dict[str, str]:
    return {str(e["loc"][0]) if e["loc"] else "": e["msg"] for e in exc.errors()}


@router.get("/executions")
async def execution_list(request: Request, visitor: VisitorDep) -> Response:
    rt = runtime_of(request)
    fields = searchable()
    given = {
        name: value.strip()
        for name, value in request.query_params.items()
        if name in fields or name in ("uuid", "cursor")
    }
    given = {name: value for name, value in given.items() if value}
    all_flows = await flows.list_all(rt, visitor.account)
    context: dict[str, Any] = {
        "title": "Executions",
        "fields": fields,
        "given": given,
        "flows": all_flows,
        "flow_names": {f.flow_id: f.name for f in all_flows},
        "statuses": [s.value for s in Status],
        "errors": {},
        "executions": [],
        "next_url": None,
        "not_found": None,
    }
    uuid = given.get("uuid")
    if uuid is not None:  # one execution is asked for: go to it
        try:
            await executions.get(rt, visitor.account, uuid)
        except NotFound:
            context["not_found"] = uuid
            return render(request, "executions/list.html", status_code=404, **context)
        return RedirectResponse(f"/executions/{uuid}", status_code=303)
    values: dict[str, Any] = {name: value for name, value in given.items() if name != "uuid"}
    for name in TIME_FIELDS:
        if name in values:
            values[name] = _local_time(values[name], visitor.account.timezone)
    try:
        filters = ExecutionFilter.model_validate({**values, "limit": PAGE_SIZE})
    except ValidationError as exc:
        context["errors"] = _field_errors(exc)
        return render(request, "executions/list.html", status_code=422, **context)
    page = await executions.list_page(rt, visitor.account, filters)
    context["executions"] = page.items
    if page.next_cursor is not None:
        query = {name: value for name, value in given.items() if name != "cursor"}
        query["cursor"] = page.next_cursor
        context["next_url"] = f"/executions?{urlencode(query)}"
    return render(request, "executions/list.html", **context)


async def _snapshot(rt: Runtime, account: Account, uuid: str) -> dict[str, Any]:
    """Everything the execution's page shows, read now through the use cases."""
    state = await executions.get(rt, account, uuid)
    drawing = await drawings.execution(rt, account, uuid)
    svg = interactive_svg(
        drawing,
        lambda widget: f"/flows/{state.flow_id}/widgets/{widget}?version={state.version}",
    )
    made = await deliveries.list_page(rt, account, DeliveryFilter(execution=uuid, limit=50))
    # named as the Deliveries list names them: the saved webhook's name
    names = {hook.id: hook.name for hook in await webhooks.list_all(rt, account)}
    steps = within_depth(state.steps)
    from_widgets = {step.get("delivery"): step.get("widget") for step in steps}
    sent = [
        {
            **delivery,
            "from_widget": from_widgets.get(delivery["id"]),
            "webhook_name": names.get(delivery.get("webhook_id") or ""),
        }
        for delivery in made.items
    ]
    sent.sort(key=lambda d: (d["from_widget"] is not None, d["created_at"]))
    return {
        "execution": state,
        "steps": steps,
        "variables": {f"${k}": within_depth(v) for k, v in sorted(state.variables.items())},
        "svg": svg,
        "drawing_problem": drawing.problem,
        "deliveries": sent,
    }


@router.get("/executions/{uuid}")
async def execution_page(request: Request, uuid: str, visitor: VisitorDep) -> Response:
    snapshot = await _snapshot(runtime_of(request), visitor.account, uuid)
    return render(
        request, "executions/detail.html", title=f"Execution {uuid[:8]}…", uuid=uuid, **snapshot
    )


@router.get("/executions/{uuid}/live")
async def execution_live(request: Request, uuid: str, visitor: VisitorDep) -> Response:
    """The live part of the page as Server-Sent Events, until the execution ends."""
    rt = runtime_of(request)
    await executions.get(rt, visitor.account, uuid)  # another account's: 404, no stream
    finished = False

    async def render_now() -> str:
        nonlocal finished
        snapshot = await _snapshot(rt, visitor.account, uuid)
        finished = snapshot["execution"].status.finished
        response = render(request, "executions/_live.html", uuid=uuid, **snapshot)
        return bytes(response.body).decode()

    return live(request, render_now, lambda: finished)
