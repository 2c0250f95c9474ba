"""The Deliveries pages (``/deliveries``): the log newest first with its filters, a
delivery with every attempt and its Replay button, and for a webhook its 24-hour chart
and Recover (every dead letter since a time, one job, its progress shown as it goes).

Every rule is the use cases' (``usecases/deliveries.py``, ``recoveries.py``,
``activity.py``), shared with the API; this module parses the forms and renders. Times
typed into the filters and the Recover form are in the account's time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Form, Request
from markupsafe import Markup
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from flowhook.errors import Code, Conflict, ValidationFailed
from flowhook.ui.app import page_router
from flowhook.ui.charts import webhook_chart
from flowhook.ui.render import is_htmx, render
from flowhook.ui.session import VisitorDep, runtime_of
from flowhook.usecases import activity, deliveries, recoveries, webhooks
from flowhook.usecases.deliveries import DeliveryFilter
from flowhook.usecases.recoveries import RecoverIn

router = page_router()

FILTERS = ("status", "webhook", "execution", "since", "until")


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _moment(text: str, timezone: str) -> dt.datetime | str:
    """A ``datetime-local`` field's value in the account's zone (or the text, unparsed:
    the form's validation then names the field)."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment if moment.tzinfo else moment.replace(tzinfo=_zone(timezone))


def _local(value: float, timezone: str) -> str:
    """Epoch seconds as a ``datetime-local`` value in the account's zone."""
    return dt.datetime.fromtimestamp(value, _zone(timezone)).strftime("%Y-%m-%dT%H:%M")


@router.get("/deliveries")
async def deliveries_list(request: Request, visitor: VisitorDep) -> Response:
    rt = runtime_of(request)
    timezone = visitor.account.timezone
    given = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    raw: dict[str, Any] = {k: v for k, v in given.items() if v}
    for key in ("since", "until"):
        if key in raw:
            raw[key] = _moment(raw[key], timezone)
    errors: dict[str, str] = {}
    page = None
    try:
        filters = DeliveryFilter.model_validate(
            {**raw, "cursor": request.query_params.get("cursor") or None}
        )
        page = await deliveries.list_page(rt, visitor.account, filters)
    except ValidationError as exc:
        for error in exc.errors():
            errors[str(error["loc"][0])] = error["msg"]
    hooks = await webhooks.list_all(rt, visitor.account)
    chart: Markup | None = None
    selected = None
    if given["webhook"] and "webhook" not in errors:
        selected = next((w for w in hooks if w.id == given["webhook"]), None)
        if selected is not None:
            figures = await activity.webhook_activity(rt, visitor.account, selected.id)
            chart = Markup(webhook_chart(figures))  # numbers this code formats: nothing to escape
    next_url = None
    if page is not None and page.next_cursor:
        next_url = "/deliveries?" + urlencode({**given, "cursor": page.next_cursor})
    return render(
        request,
        "deliveries/list.html",
        title="Deliveries",
        given=given,
        errors=errors,
        items=page.items if page else [],
        next_url=next_url,
        webhooks=hooks,
        selected=selected,
        chart=chart,
        recover_since=_local(rt.now() - 3600, timezone),
    )


@router.get("/deliveries/jobs/{job_id}")
async def recover_job(request: Request, job_id: str, visitor: VisitorDep) -> Response:
    """A recover job's progress; htmx polls the fragment until the job is done."""
    job = await recoveries.get(runtime_of(request), visitor.account, job_id)
    template = "deliveries/_job.html" if is_htmx(request) else "deliveries/job.html"
    return render(request, template, title="Recover", job=recoveries.view(job))


@router.post("/deliveries/recover")
async def recover(
    request: Request,
    visitor: VisitorDep,
    webhook: Annotated[str, Form()],
    since: Annotated[str, Form()],
) -> Response:
    """Recover: every dead letter of the webhook since the chosen time, as one job."""
    rt = runtime_of(request)
    try:
        form = RecoverIn.model_validate({"since": _moment(since, visitor.account.timezone)})
    except ValidationError:
        raise ValidationFailed(
            "since: a date and time, such as 2026-11-30T09:00", code=Code.VALIDATION_FAILED
        ) from None
    job = await recoveries.recover_webhook(rt, visitor.account, webhook, form)
    return RedirectResponse(f"/deliveries/jobs/{job.id}", status_code=303)


@router.get("/deliveries/{delivery_id}")
async def delivery_detail(request: Request, delivery_id: str, visitor: VisitorDep) -> Response:
    found = await deliveries.get(runtime_of(request), visitor.account, delivery_id)
    return render(
        request,
        "deliveries/detail.html",
        title=f"Delivery {delivery_id}",
        delivery=found,
        notice=request.query_params.get("notice", ""),
    )


@router.post("/deliveries/{delivery_id}/replay")
async def replay(request: Request, delivery_id: str, visitor: VisitorDep) -> Response:
    """Replay, then back to the delivery (its status is PENDING until the attempt ends)."""
    try:
        await deliveries.replay(runtime_of(request), visitor.account, delivery_id)
        notice = "replayed"
    except Conflict:
        notice = "in-flight"
    return RedirectResponse(f"/deliveries/{delivery_id}?notice={notice}", status_code=303)
