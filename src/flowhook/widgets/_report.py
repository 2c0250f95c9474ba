"""Waiting for a message's delivery report (``wait_report_s`` of ``sms`` and ``email``): a
durable wait that the report itself ends (the channel layer makes the execution due when
one arrives), else its deadline."""

from __future__ import annotations

from typing import Any

from flowhook.channels.adapter import FINAL_STATUSES, Handed
from flowhook.channels.service import Channels
from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig
from flowhook.widgets._call import exit_or_next, wait

REPORT_EXITS = frozenset({"delivered", "undelivered", "no_report"})


async def report_outcome(
    ctx: StepContext, config: WidgetConfig, records: list[dict[str, Any]], mine: dict[str, Any]
) -> Outcome:
    """``delivered`` (or ``next``) / ``undelivered`` once the report is final, ``no_report``
    at the deadline; else wait. The message's record follows the status."""
    stored = await ctx.services.get(Channels).message(str(mine["id"]))
    status = stored.status if stored is not None else "UNKNOWN"
    for record in records:
        if record.get("id") == mine["id"]:
            record["delivery_status"] = status
    if status in FINAL_STATUSES:
        ctx.log["report"] = status
        if status == "DELIVERED":
            return exit_or_next(config, "delivered")
        return Exit("undelivered")
    if ctx.now() >= float(mine["deadline"]):
        return Exit("no_report")
    return wait(ctx, float(mine["deadline"]))


async def after_handing(
    ctx: StepContext,
    widget: Widget[Any],
    wait_report_s: float | None,
    records: list[dict[str, Any]],
    message_id: str,
    handed: Handed,
    sent_at: float,
) -> Outcome:
    """Once the gateway had the message: ``failed`` if it refused it, ``next`` when the
    widget does not wait for a report, else wait for one until ``wait_report_s`` after
    ``sent_at``."""
    if handed.failed:
        return Exit("failed")
    if wait_report_s is None:
        return Exit("next")
    deadline = sent_at + ctx.settings.scaled(wait_report_s)
    mine = ctx.state.scratch[widget.id] = {"id": message_id, "deadline": deadline}
    return await report_outcome(ctx, widget.config, records, mine)
