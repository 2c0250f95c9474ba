"""Waiting for a message's delivery report (``wait_report_s`` of ``sms`` and ``email``): a
durable wait that the report itself ends (the channel layer makes the execution due when
one arrives), else its deadline; and ``MessageWidget``, what the two widgets share around it."""

from __future__ import annotations

from typing import Any, Literal

from flowhook.channels.adapter import FINAL_STATUSES, Handed, OutgoingMessage
from flowhook.channels.service import Channels
from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig
from flowhook.widgets._call import C, exit_or_next, loop_back, wait

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


class MessageWidget(Widget[C]):
    """``sms`` and ``email``: ``send`` hands the message over and ends with ``handed_over``;
    a run after that (the report arrived, or the deadline) reads the report instead."""

    side_effect = True

    def __init__(self, widget_id: str, config: C) -> None:
        loop_back(widget_id, config)
        super().__init__(widget_id, config)

    @classmethod
    def exit_names(cls, config: Any) -> set[str]:
        return {"failed", *REPORT_EXITS}

    def records(self, ctx: StepContext) -> list[dict[str, Any]]:
        """The execution's records of this kind of message (``smsDetails``, …)."""
        raise NotImplementedError

    async def send(self, ctx: StepContext) -> Outcome:
        raise NotImplementedError

    async def run(self, ctx: StepContext) -> Outcome:
        mine: dict[str, Any] | None = ctx.state.scratch.get(self.id)
        if mine is not None:
            return await report_outcome(ctx, self.config, self.records(ctx), mine)
        return await self.send(ctx)

    async def hand_over(
        self,
        ctx: StepContext,
        channel: Literal["sms", "email"],
        message: OutgoingMessage,
        record: dict[str, Any],
        wait_report_s: float | None,
        sent_at: float | None = None,
    ) -> Outcome:
        """Send ``message`` through the account's ``channel`` adapter, add ``record`` to the
        execution's records with the gateway's answer as its ``delivery_status``, log the
        answer, then go on as ``handed_over`` says (the report's wait counts from
        ``sent_at``; None: from when the gateway answered)."""
        handed = await ctx.services.get(Channels).send(
            channel, ctx.account, message, ctx.state.uuid
        )
        self.records(ctx).append({**record, "delivery_status": handed.status})
        ctx.log[channel] = {"id": message.id, "status": handed.status, "detail": handed.detail}
        if sent_at is None:
            sent_at = ctx.now()
        return await self.handed_over(ctx, wait_report_s, message.id, handed, sent_at)

    async def handed_over(
        self,
        ctx: StepContext,
        wait_report_s: float | None,
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
        mine = ctx.state.scratch[self.id] = {"id": message_id, "deadline": deadline}
        return await report_outcome(ctx, self.config, self.records(ctx), mine)
