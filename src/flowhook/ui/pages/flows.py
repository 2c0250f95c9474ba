"""The Flows pages: the list; a flow written as JSON or YAML in a textarea (new, edit) with
its problems listed at their JSON paths; a flow's page with its drawing (each widget's
node opens the widget's details), its warnings, the diff of test against prod and the
Publish button.

Everything goes through ``usecases/flows.py``, as the API does: the textarea's text is
handed over as it was typed (a :class:`FlowSource` of JSON or YAML), so the bounds and
the validation are the API's, and so are the problems shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable
from typing import Annotated, Any, Literal
from urllib.parse import quote

import yaml
from fastapi import Form, Query, Request
from starlette.responses import RedirectResponse, Response

from flowhook.errors import Code, FlowhookError, ValidationFailed
from flowhook.statuses import status_of
from flowhook.ui.app import page_router
from flowhook.ui.drawing import interactive_svg
from flowhook.ui.render import is_htmx, render
from flowhook.ui.session import AdminDep, VisitorDep, base_url_of, runtime_of
from flowhook.usecases import drawings, flows
from flowhook.usecases.flows import FlowSource

router = page_router()

Version = Literal["test", "prod"]
Format = Literal["json", "yaml"]
Action = Literal["publish", "delete"]
"""A button on the flow's page whose action may be refused (its error shows beside it)."""
CONTENT_TYPES: dict[str, str] = {"json": "application/json", "yaml": "application/yaml"}
MAX_DOCUMENT_CHARS = 300_000
"""The textarea's limit; the use case's bounds (bytes as stored, depth …) apply after it."""

STARTER: dict[str, Any] = {
    "name": "my_flow",
    "type": "outbound",
    "webhook_enabled": True,
    "entry": {"start": "greet"},
    "widgets": {
        "greet": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.greeting", "value": "Hello"}],
            "next": "done",
        },
        "done": {"type": "end"},
    },
}
"""What a new flow's textarea starts with: the smallest flow that runs, and sends its
flow-complete message to the default webhook (what Home's "Where to start" promises)."""


class _NoAliases(yaml.SafeDumper):
    """The flow loader refuses YAML aliases, so the text offered for editing has none."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def as_text(document: dict[str, Any], format: Format) -> str:
    """A document as the textarea shows it."""
    if format == "yaml":
        text: str = yaml.dump(
            document, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100
        )
        return text
    return json.dumps(document, indent=2, ensure_ascii=False)


def problems_of(exc: FlowhookError) -> list[dict[str, Any]]:
    """The problems an error names, each with its JSON path where it has one: the
    validation's list (``INVALID_FLOW``), or one problem for the whole document."""
    details = exc.details
    if isinstance(details, list) and all(isinstance(d, dict) for d in details) and details:
        return [dict(d) for d in details]
    if exc.code == Code.FLOW_NAME_TAKEN:
        return [{"path": "$.name", "code": exc.code, "message": exc.message}]
    path = details.get("path") if isinstance(details, dict) else None
    return [{"path": path or "$", "code": exc.code, "message": exc.message}]


_SEGMENT = re.compile(r"\.([^.\[]+)|\[\d+\]")


def line_of(text: str, path: str) -> int | None:
    """The line of ``text`` (JSON or YAML as typed) where a problem's JSON path points,
    found by looking for each key of the path in turn after the previous one: a guide for
    the eye beside the path, not a parser. A key not found (a missing field) leaves the
    line of the last key found; None when not even the first is found."""
    keys = [m[1] for m in _SEGMENT.finditer(path.removeprefix("$")) if m[1] is not None]
    position, found = 0, None
    for key in keys:
        quoted = re.escape(key)
        pattern = rf"(?:\"{quoted}\"|'{quoted}'|(?<![\w$\-\"']){quoted})\s*:"
        match = re.compile(pattern).search(text, position)
        if match is None:
            break
        position, found = match.end(), match.start()
    return None if found is None else text.count("\n", 0, found) + 1


def _editor(
    request: Request,
    *,
    flow: Any,
    text: str,
    format: Format,
    error: FlowhookError | None = None,
    checked: flows.Checked | None = None,
) -> Response:
    """The editor with ``text``; a refused document (``error``) answers with the error's
    status, its problems shown at their lines."""
    title = f"Edit {flow.name}" if flow is not None else "New flow"
    return render(
        request,
        "flows/edit.html",
        status_code=status_of(error) if error is not None else 200,
        title=title,
        flow=flow,
        text=text,
        format=format,
        error=error,
        checked=checked,
        problems=[
            {**problem, "line": line_of(text, str(problem.get("path", "")))}
            for problem in (problems_of(error) if error is not None else [])
        ],
    )


@router.get("/flows")
async def flow_list(request: Request, visitor: VisitorDep) -> Response:
    records = await flows.list_all(runtime_of(request), visitor.account)
    deleted = request.query_params.get("deleted")
    return render(request, "flows/list.html", title="Flows", flows=records, deleted=deleted)


@router.get("/flows/new")
async def new_flow(request: Request, visitor: AdminDep, format: Format = "json") -> Response:
    return _editor(request, flow=None, text=as_text(STARTER, format), format=format)


@router.post("/flows")
async def create_flow(
    request: Request,
    visitor: VisitorDep,
    document: Annotated[str, Form(max_length=MAX_DOCUMENT_CHARS)] = "",
    format: Annotated[Format, Form()] = "json",
) -> Response:
    source = FlowSource(document.encode(), CONTENT_TYPES[format])
    try:
        saved = await flows.create(runtime_of(request), visitor.account, source)
    except FlowhookError as exc:
        return _editor(request, flow=None, text=document, format=format, error=exc)
    return RedirectResponse(f"/flows/{saved.record.flow_id}", status_code=303)


@router.post("/flows/check")
async def check_flow(
    request: Request,
    visitor: VisitorDep,
    document: Annotated[str, Form(max_length=MAX_DOCUMENT_CHARS)] = "",
    format: Annotated[Format, Form()] = "json",
    flow_id: Annotated[str, Form()] = "",
) -> Response:
    """ "Check without saving": the editor again, with the validation's problems at their
    paths, or that the document is valid (and its warnings); nothing is stored."""
    rt = runtime_of(request)
    record = await flows.get(rt, visitor.account, flow_id) if flow_id else None
    source = FlowSource(document.encode(), CONTENT_TYPES[format])
    try:
        checked = await flows.validate(rt, visitor.account, source)
    except FlowhookError as exc:
        return _editor(request, flow=record, text=document, format=format, error=exc)
    return _editor(request, flow=record, text=document, format=format, checked=checked)


@router.get("/flows/{flow_id}")
async def flow_page(
    request: Request,
    flow_id: str,
    visitor: VisitorDep,
    version: Version = "test",
    published: bool = False,
) -> Response:
    return await _flow_page(request, visitor, flow_id, version, published=published)


async def _flow_page(
    request: Request,
    visitor: Any,
    flow_id: str,
    version: Version,
    *,
    published: bool = False,
    refused: tuple[Action, FlowhookError] | None = None,
) -> Response:
    """The flow's page; ``refused``: the button whose action was refused, and why (shown
    beside that button)."""
    rt = runtime_of(request)
    record = await flows.get(rt, visitor.account, flow_id)
    if version == "prod" and record.prod_doc is None:
        version = "test"  # never published: there is only test to show
    document = flows.version_document(record, version)
    try:
        checked = await flows.validate(
            rt, visitor.account, FlowSource(json.dumps(record.test_doc).encode())
        )
        warnings = checked.warnings
    except FlowhookError:  # stored under older rules: the page still shows the flow
        warnings = []
    drawing = await drawings.flow(rt, visitor.account, flow_id, version)
    diff = await flows.diff(rt, visitor.account, flow_id)
    svg = interactive_svg(
        drawing, lambda widget: f"/flows/{flow_id}/widgets/{widget}?version={version}"
    )
    return render(
        request,
        "flows/detail.html",
        status_code=status_of(refused[1]) if refused else 200,
        title=record.name,
        flow=record,
        version=version,
        document=document,
        widgets=document.get("widgets", {}),
        svg=svg,
        drawing_problem=drawing.problem,
        warnings=warnings,
        diff=diff,
        published=published,
        base_url=base_url_of(request),
        publish_error=refused[1] if refused and refused[0] == "publish" else None,
        delete_error=refused[1] if refused and refused[0] == "delete" else None,
    )


@router.get("/flows/{flow_id}/edit")
async def edit_flow(
    request: Request, flow_id: str, visitor: AdminDep, format: Format = "json"
) -> Response:
    record = await flows.get(runtime_of(request), visitor.account, flow_id)
    return _editor(request, flow=record, text=as_text(record.test_doc, format), format=format)


@router.post("/flows/{flow_id}")
async def replace_flow(
    request: Request,
    flow_id: str,
    visitor: VisitorDep,
    document: Annotated[str, Form(max_length=MAX_DOCUMENT_CHARS)] = "",
    format: Annotated[Format, Form()] = "json",
) -> Response:
    rt = runtime_of(request)
    record = await flows.get(rt, visitor.account, flow_id)
    source = FlowSource(document.encode(), CONTENT_TYPES[format])
    try:
        await flows.replace(rt, visitor.account, flow_id, source)
    except FlowhookError as exc:
        return _editor(request, flow=record, text=document, format=format, error=exc)
    return RedirectResponse(f"/flows/{flow_id}", status_code=303)


async def _act(
    request: Request,
    visitor: Any,
    flow_id: str,
    action: Awaitable[object],
    *,
    name: Action,
    done: str,
) -> Response:
    """Run the ``name`` button's action on a flow, then go to ``done``. A refusal shows the
    flow's page again with the error beside that button; a flow that does not exist (404)
    is the not-found page."""
    try:
        await action
    except FlowhookError as exc:
        if status_of(exc) == 404:
            raise
        return await _flow_page(request, visitor, flow_id, "test", refused=(name, exc))
    return RedirectResponse(done, status_code=303)


@router.post("/flows/{flow_id}/publish")
async def publish_flow(request: Request, flow_id: str, visitor: VisitorDep) -> Response:
    publish = flows.publish(runtime_of(request), visitor.account, flow_id)
    done = f"/flows/{flow_id}?version=prod&published=1"
    return await _act(request, visitor, flow_id, publish, name="publish", done=done)


@router.post("/flows/{flow_id}/delete")
async def delete_flow(
    request: Request,
    flow_id: str,
    visitor: VisitorDep,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Delete a flow, once the admin has ticked the confirmation (a form that works
    without JavaScript); the use case refuses while executions are unfinished."""
    rt = runtime_of(request)
    record = await flows.get(rt, visitor.account, flow_id)

    async def delete() -> None:
        if confirm != "yes":
            raise ValidationFailed(
                "tick the confirmation to delete the flow", code=Code.VALIDATION_FAILED
            )
        await flows.delete(rt, visitor.account, flow_id)

    done = f"/flows?deleted={quote(record.name)}"
    return await _act(request, visitor, flow_id, delete(), name="delete", done=done)


@router.get("/flows/{flow_id}/widgets/{widget_id}")
async def widget_details(
    request: Request,
    flow_id: str,
    widget_id: str,
    visitor: VisitorDep,
    version: Annotated[Version, Query()] = "test",
) -> Response:
    rt = runtime_of(request)
    record = await flows.get(rt, visitor.account, flow_id)
    body = await flows.widget(rt, visitor.account, flow_id, widget_id, version)
    template = "flows/_widget.html" if is_htmx(request) else "flows/widget.html"
    return render(
        request,
        template,
        title=f"{widget_id} · {record.name}",
        flow=record,
        version=version,
        widget_id=widget_id,
        widget=body,
    )
