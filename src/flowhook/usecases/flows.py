"""Flows: validate, create, list, read, replace (the test version), delete, publish
(test → prod), the diff between the test and the prod version, one widget of a version.

The rules live here: a document is parsed by the bounded loaders (JSON, or YAML) and its
stored JSON is at most ``flow_max_bytes`` (413 ``FLOW_TOO_LARGE``); saving a flow that
names saved webhooks the account does not have only warns, publishing it is refused
(409 ``WEBHOOK_NOT_FOUND``); a flow with unfinished executions cannot be deleted
(409 ``FLOW_IN_USE``); secrets of webhook widgets are stored sealed (``***`` in the
document, their values encrypted). Every change drops the trigger's cached copy
(``rt.catalog.forget``).

The use cases take the document as it arrives — raw bytes and their content type — not a
parsed dict: the API, the console (a textarea of YAML or JSON) and the CLI (a file) all
hold text, and parsing it is where the bounds are enforced (size, depth, the YAML loader
run in a thread), so that work is written once here rather than in each adapter.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel
from sqlalchemy import Connection

from flowhook import codec
from flowhook.domain.account import Account
from flowhook.domain.credentials import seal_flow
from flowhook.engine.documents import load_json, load_yaml
from flowhook.engine.flow import CompiledFlow, compile_flow
from flowhook.errors import Code, Conflict, FlowTooLarge, NotFound, ValidationFailed
from flowhook.runtime import Runtime
from flowhook.store import flows as flow_repo
from flowhook.store import webhooks as webhook_repo
from flowhook.store.flows import FlowRecord
from flowhook.widgets.webhook import missing_saved_webhooks

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
IN_A_THREAD_OVER = 64 * 1024
"""JSON bodies larger than this are parsed and validated in a thread (YAML always is: its
loader is Python): a 256 KB flow takes tens of milliseconds, too long to hold the loop."""


class FlowSource(NamedTuple):
    """A flow document as a client sends it: JSON, or YAML under a YAML content type."""

    raw: bytes
    content_type: str = "application/json"

    @property
    def is_yaml(self) -> bool:
        return self.content_type.split(";")[0].strip().lower() in YAML_TYPES


class Checked(NamedTuple):
    """A valid document (as the API shows it, before sealing) and its warnings: unreachable
    widgets, saved webhooks the account does not have (yet)."""

    document: dict[str, Any]
    warnings: list[dict[str, str]]


class Saved(NamedTuple):
    """A flow as stored, and the warnings its document drew."""

    record: FlowRecord
    warnings: list[dict[str, str]]


class FieldChange(BaseModel):
    test: Any
    prod: Any


class WidgetsDiff(BaseModel):
    added: list[str]
    """In the test version only: publishing adds them."""
    removed: list[str]
    """In prod only: publishing removes them."""
    changed: list[str]
    """In both, configured differently (their secrets included, never shown)."""


class FlowDiff(BaseModel):
    """What publishing the test version would change in prod."""

    flow_id: str
    published: bool
    same: bool
    fields: dict[str, FieldChange]
    """Top-level fields (``name``, ``type``, ``entry`` …) whose value differs."""
    widgets: WidgetsDiff


def _compiled(source: FlowSource, max_bytes: int) -> CompiledFlow:
    flow = compile_flow(load_yaml(source.raw) if source.is_yaml else load_json(source.raw))
    size = len(codec.dumps(flow.document.model_dump(exclude_none=True)))
    if size > max_bytes:
        raise FlowTooLarge(
            f"the flow is {size} bytes of JSON, more than the {max_bytes} a flow may be",
            details={"bytes": size, "max_bytes": max_bytes},
        )
    return flow


async def validate(rt: Runtime, account: Account, source: FlowSource) -> Checked:
    """The document, validated and bounded (nothing stored), with its warnings."""
    if not source.raw.strip():
        raise ValidationFailed("a flow document is required", code=Code.INVALID_FLOW)
    max_bytes = rt.settings.flow_max_bytes
    if source.is_yaml or len(source.raw) > IN_A_THREAD_OVER:
        flow = await asyncio.to_thread(_compiled, source, max_bytes)
    else:
        flow = _compiled(source, max_bytes)
    missing = await rt.store.read(
        lambda c: missing_saved_webhooks(
            flow, lambda refs: webhook_repo.missing(c, account.id, refs)
        )
    )
    warnings = [w.to_dict() for w in [*flow.warnings, *missing]]
    return Checked(flow.document.model_dump(exclude_none=True), warnings)


def _sealed(
    rt: Runtime, document: dict[str, Any], stored: dict[str, Any] | None = None
) -> tuple[dict[str, Any], bytes | None]:
    """The document as stored and shown (secrets of webhook widgets ``***``) and its
    encrypted secret values; a ``***`` sent back keeps the value in ``stored``."""
    public, values = seal_flow(document, stored)
    return public, rt.cipher.encrypt(json.dumps(values)) if values else None


async def create(rt: Runtime, account: Account, source: FlowSource) -> Saved:
    """A new flow (its test version); FLOW_NAME_TAKEN when the name is another flow's."""
    checked = await validate(rt, account, source)
    public, sealed = _sealed(rt, checked.document)
    now = rt.now()
    record = await rt.store.write(lambda c: flow_repo.create(c, account.id, public, now, sealed))
    return Saved(record, checked.warnings)


async def list_all(rt: Runtime, account: Account) -> list[FlowRecord]:
    return await rt.store.read(lambda c: flow_repo.list_for(c, account.id))


async def get(rt: Runtime, account: Account, flow_id: str) -> FlowRecord:
    record = await rt.store.read(lambda c: flow_repo.get(c, flow_id, account.id))
    if record is None:
        raise NotFound.flow(flow_id)
    return record


async def replace(rt: Runtime, account: Account, flow_id: str, source: FlowSource) -> Saved:
    """Replace the test version (prod changes only by publishing); a webhook widget's
    ``***`` keeps the secret stored."""
    current = await get(rt, account, flow_id)
    checked = await validate(rt, account, source)
    public, sealed = _sealed(rt, checked.document, current.secret_values("test", rt.cipher))
    now = rt.now()
    record = await rt.store.write(
        lambda c: flow_repo.replace_test(c, flow_id, account.id, public, now, sealed)
    )
    if record is None:
        raise NotFound.flow(flow_id)
    rt.catalog.forget(flow_id=flow_id)
    return Saved(record, checked.warnings)


async def delete(rt: Runtime, account: Account, flow_id: str) -> None:
    """Delete a flow none of whose executions is unfinished (FLOW_IN_USE counts them)."""
    await get(rt, account, flow_id)

    def write(conn: Connection) -> bool:
        running = flow_repo.unfinished_executions(conn, flow_id)
        if running:
            raise Conflict(
                f"flow {flow_id} has {running} unfinished executions",
                code=Code.FLOW_IN_USE,
                details={"unfinished_executions": running},
            )
        return flow_repo.remove(conn, flow_id, account.id)

    await rt.store.write(write)
    rt.catalog.forget(flow_id=flow_id)


async def publish(rt: Runtime, account: Account, flow_id: str) -> FlowRecord:
    """Copy the test version to prod; refused (WEBHOOK_NOT_FOUND, the missing ones in
    ``details``) while it names saved webhooks the account does not have."""
    await get(rt, account, flow_id)
    now = rt.now()

    def write(conn: Connection) -> FlowRecord | None:
        current = flow_repo.get(conn, flow_id, account.id)
        if current is None:
            return None
        missing = missing_saved_webhooks(
            compile_flow(current.test_doc),
            lambda refs: webhook_repo.missing(conn, account.id, refs),
        )
        if missing:
            raise Conflict(
                "the flow names saved webhooks that do not exist; add them, then publish",
                code=Code.WEBHOOK_NOT_FOUND,
                details=[m.to_dict() for m in missing],
            )
        return flow_repo.publish(conn, flow_id, account.id, now)

    record = await rt.store.write(write)
    if record is None:
        raise NotFound.flow(flow_id)
    rt.catalog.forget(flow_id=flow_id)
    return record


async def diff(rt: Runtime, account: Account, flow_id: str) -> FlowDiff:
    """What differs between the test and the prod version: top-level fields, and widgets
    added, removed or changed. A flow never published is compared with nothing (every
    field and widget of test is new). Secrets count (a changed password is a changed
    widget) but are never shown: both documents show them as ``***``."""
    record = await get(rt, account, flow_id)
    test, prod = record.test_doc, record.prod_doc or {}
    test_secrets = record.secret_values("test", rt.cipher)
    prod_secrets = record.secret_values("prod", rt.cipher) if record.prod_doc else {}
    fields = {
        key: FieldChange(test=test.get(key), prod=prod.get(key))
        for key in sorted(set(test) | set(prod))
        if key != "widgets" and test.get(key) != prod.get(key)
    }
    test_widgets: dict[str, Any] = test.get("widgets", {})
    prod_widgets: dict[str, Any] = prod.get("widgets", {})
    both = sorted(set(test_widgets) & set(prod_widgets))
    widgets = WidgetsDiff(
        added=sorted(set(test_widgets) - set(prod_widgets)),
        removed=sorted(set(prod_widgets) - set(test_widgets)),
        changed=[
            w
            for w in both
            if test_widgets[w] != prod_widgets[w] or test_secrets.get(w) != prod_secrets.get(w)
        ],
    )
    same = not fields and not (widgets.added or widgets.removed or widgets.changed)
    return FlowDiff(
        flow_id=flow_id,
        published=record.prod_doc is not None,
        same=same,
        fields=fields,
        widgets=widgets,
    )


def version_document(record: FlowRecord, version: Literal["test", "prod"]) -> dict[str, Any]:
    """The document of a flow's version as shown (secrets ``***``);
    FLOW_VERSION_NOT_FOUND for the prod version of a flow never published."""
    document = record.document(version)
    if document is None:
        raise NotFound(
            f"flow {record.flow_id} has no {version} version (publish it first)",
            code=Code.FLOW_VERSION_NOT_FOUND,
        )
    return document


async def widget(
    rt: Runtime,
    account: Account,
    flow_id: str,
    widget_id: str,
    version: Literal["test", "prod"] = "test",
) -> dict[str, Any]:
    """One widget of a version of the flow, as the document shows it (secrets ``***``);
    WIDGET_NOT_FOUND when that version has no such widget."""
    record = await get(rt, account, flow_id)
    widgets = version_document(record, version).get("widgets") or {}
    body = widgets.get(widget_id) if isinstance(widgets, dict) else None
    if not isinstance(body, dict):
        raise NotFound(
            f"flow {flow_id} has no widget {widget_id!r} in its {version} version",
            code=Code.WIDGET_NOT_FOUND,
        )
    return body
