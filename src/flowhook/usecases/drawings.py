"""Drawings: a version of a flow as a graph, and an execution's path through its flow.

The flow document and the step log come from the flows and executions use cases (the
account's own, or 404); :mod:`flowhook.graphs` makes the DOT text and runs Graphviz
(``rt.graphs``, which caches each drawing). Drawn from documents as shown — webhook
secrets are ``***`` there — so no secret can reach a drawing.
"""

from __future__ import annotations

from typing import Literal

from flowhook.domain.account import Account
from flowhook.errors import NotFound
from flowhook.graphs import Drawing, flow_dot, taken_path
from flowhook.runtime import Runtime
from flowhook.usecases import executions, flows

FLOW_GONE = "graph unavailable: the flow of this execution no longer exists"


async def flow(
    rt: Runtime, account: Account, flow_id: str, version: Literal["test", "prod"] = "test"
) -> Drawing:
    """A version of the flow drawn as inline SVG, or why it cannot be (Graphviz missing:
    the caller lists the widgets instead). FLOW_VERSION_NOT_FOUND for prod before the
    flow is published."""
    record = await flows.get(rt, account, flow_id)
    return await rt.graphs.svg(flow_dot(flows.version_document(record, version)))


async def execution(rt: Runtime, account: Account, uuid: str) -> Drawing:
    """The execution's flow (the version it runs, as it is now) drawn with the path it took
    coloured and, while it runs or waits, the widget it is at. A flow deleted since (only a
    finished execution's can be) leaves no drawing."""
    state = await executions.get(rt, account, uuid)
    try:
        document = (await flows.get(rt, account, state.flow_id)).document(state.version)
    except NotFound:
        document = None
    if document is None:
        return Drawing(None, FLOW_GONE)
    current = None if state.status.finished else state.cursor
    return await rt.graphs.svg(flow_dot(document, taken_path(state.steps, current)))
