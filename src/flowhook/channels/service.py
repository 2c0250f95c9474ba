"""The channel layer one process lends to widgets (``ctx.services.get(Channels)``).

It picks each account's adapter per channel, keeps the durable record of every call leg
(``store.calls``) and message (``store.messages``), and turns what happens on a channel
into engine work: an event on a leg or a delivery report makes the waiting execution due
at once (its row's ``due_at`` is set to now), so a menu waiting for a key wakes up when the
key arrives rather than at its timeout. Nothing lives only in memory: a worker that dies
mid-call leaves the leg, its events and the WAITING execution in the store, and whichever
worker resumes it reads them there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from flowhook.channels.adapter import (
    FINAL_STATUSES,
    NORMAL_CLEARING,
    AdapterContext,
    EmailAdapter,
    Handed,
    OutgoingMessage,
    SmsAdapter,
    VoiceAdapter,
)
from flowhook.channels.config import ChannelSettings
from flowhook.channels.registry import adapter_class
from flowhook.channels.secrets import Sealer, unseal
from flowhook.domain.account import Account, AccountInfo
from flowhook.domain.call import CallRow
from flowhook.engine.flow import CompiledFlow
from flowhook.engine.state import ExecutionState
from flowhook.errors import Code, FlowhookError, WidgetError
from flowhook.logging import get_logger
from flowhook.settings import Settings
from flowhook.store import accounts as account_repo
from flowhook.store import calls as call_repo
from flowhook.store import messages as message_repo
from flowhook.store.commit import AfterCommit, Write
from flowhook.store.db import Store
from flowhook.store.messages import MessageRow
from flowhook.store.notify import Work, notify
from flowhook.webhooks.client import HttpClient

log = get_logger(__name__)

RINGING = "RINGING"
ANSWERED = "ANSWERED"
ENDED = "ENDED"
PENDING = "PENDING"  # a message being handed over


class Channels:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Callable[[], float],
        wake: Callable[[float], None] | None = None,
        http: HttpClient | None = None,
        cipher: Sealer | None = None,
    ) -> None:
        self.http = http
        self.cipher = cipher  # opens the channel passwords sealed in account settings
        self.store = store
        self.settings = settings
        self.clock = clock
        self.wake = wake  # the worker's nudge: look for due work now
        self.sessions: dict[str, Any] = {}
        """Long-lived connections adapters keep for the process (an SMPP bind), by a key of
        the adapter's choosing; each has ``async close()``, called by :meth:`close`."""

    async def close(self) -> None:
        """End the adapters' long-lived connections (the process is stopping)."""
        sessions, self.sessions = list(self.sessions.values()), {}
        for session in sessions:
            await session.close()

    async def connect_all(self) -> None:
        """Open the long-lived connections of every account's adapters (SMPP binds) at
        start-up: the SMSC sees the bind before any message, and a carrier that refuses
        it shows in ``/healthz`` before a flow needs it."""
        accounts = await self.store.read(account_repo.with_channel_settings)
        for account in accounts:
            self.connect(account)

    def connect(self, account: AccountInfo | Account) -> None:
        """Open the account's long-lived adapter connections now (settings just saved)."""
        try:
            self.sms(account).connect()
        except (FlowhookError, ValueError) as exc:  # settings this install cannot use
            log.warning("channel adapter not connected", account=account.id, error=repr(exc))

    def health(self) -> dict[str, Any]:
        """The state of each long-lived connection, by the adapter's key (``/healthz``)."""
        shown: dict[str, Any] = {}
        for session in self.sessions.values():
            state = getattr(session, "state", None)
            if callable(state):
                shown[str(getattr(session, "tag", id(session)))] = state()
        return shown

    # adapters ---------------------------------------------------------------------------
    def options(self, account: AccountInfo | Account) -> ChannelSettings:
        """The account's channel settings with their real passwords (for adapters only)."""
        stored = account.channels or {}
        if self.cipher is None or not stored:
            return ChannelSettings.of(stored)
        return ChannelSettings.model_validate(unseal(stored, self.cipher))

    def _adapter(self, kind: str, account: AccountInfo | Account) -> Any:
        options = self.options(account)
        name = getattr(options, kind)
        cls = adapter_class(kind, name)
        if cls is None:  # a name saved before its adapter was removed from this install
            raise WidgetError(f"no {kind} adapter {name!r}", code=Code.CHANNEL_UNAVAILABLE)
        return cls(AdapterContext(self.settings, self.clock, options, self, account, self.http))

    def voice(self, account: AccountInfo | Account) -> VoiceAdapter:
        adapter: VoiceAdapter = self._adapter("voice", account)
        return adapter

    def sms(self, account: AccountInfo | Account) -> SmsAdapter:
        adapter: SmsAdapter = self._adapter("sms", account)
        return adapter

    def email(self, account: AccountInfo | Account) -> EmailAdapter:
        adapter: EmailAdapter = self._adapter("email", account)
        return adapter

    # call legs --------------------------------------------------------------------------
    async def new_leg(
        self,
        account: AccountInfo | Account,
        execution_uuid: str | None,
        *,
        incoming: bool,
        cli: str,
        dnis: str,
        script: dict[str, Any] | None = None,
    ) -> CallRow:
        """Store a new leg, RINGING, for the account's voice adapter."""
        row = CallRow(
            id=str(uuid.uuid4()),
            account_id=account.id,
            execution_uuid=execution_uuid,
            adapter=self.options(account).voice,
            incoming=incoming,
            cli=cli,
            dnis=dnis,
            status=RINGING,
            script=script,
            events=[],
            created_at=self.clock(),
        )
        await self.store.write(lambda c: call_repo.insert(c, row))
        return row

    async def call(self, call_id: str, account_id: str | None = None) -> CallRow | None:
        return await self.store.read(lambda c: call_repo.get(c, call_id, account_id))

    async def add_events(self, call_id: str, events: list[dict[str, Any]]) -> CallRow | None:
        """Record events on a leg and wake its execution when one is due now."""
        now = self.clock()
        due_now = any(float(e["at"]) <= now for e in events)

        def write(conn: Connection) -> CallRow | None:
            row = call_repo.add_events(conn, call_id, events)
            if row is not None and due_now and row.execution_uuid:
                self._wake_in(conn, row.execution_uuid, now)
            return row

        row = await self.store.write(write)
        if due_now:
            self._nudge()
        return row

    async def set_status(self, call_id: str, **values: Any) -> None:
        await self.store.write(lambda c: call_repo.set_status(c, call_id, **values))

    # messages ---------------------------------------------------------------------------
    async def send(
        self,
        kind: str,
        account: AccountInfo | Account,
        message: OutgoingMessage,
        execution_uuid: str | None,
    ) -> Handed:
        """Hand an SMS or e-mail to the account's adapter, recorded before it leaves (a
        delivery report may come back before the adapter has even returned).

        Idempotent on ``message.id`` (stable across a replay, ``adapter.message_id``): a
        message already handed over is not handed over again (its recorded answer is
        returned); one recorded but still ``PENDING`` — the process died between the
        record and the gateway's answer — is handed over again, with the same id and
        report token, so nothing recorded is lost (at least once; at most once where the
        gateway dedupes on the id, or where it had answered with its own reference)."""
        adapter: SmsAdapter | EmailAdapter = (
            self.sms(account) if kind == "sms" else self.email(account)
        )
        now = self.clock()
        row = MessageRow(
            id=message.id,
            account_id=message.account_id,
            execution_uuid=execution_uuid,
            channel=kind,
            adapter=adapter.name,
            sender=message.sender,
            recipient=message.to,
            status=PENDING,
            external_id=message.report_token,
            created_at=now,
            updated_at=now,
        )

        def record(conn: Connection) -> MessageRow | None:
            stored = message_repo.get(conn, message.id)
            if stored is None:
                message_repo.insert(conn, row)
            return stored

        stored = await self.store.write(record)
        if stored is not None:
            handed_before = _handed_before(stored)
            if handed_before is not None:
                return await self._settle(message.id, handed_before)
            if stored.external_id and stored.adapter in _TOKEN_ADAPTERS:
                # the report URL the gateway may already hold names the first token
                message = replace(message, report_token=stored.external_id)
            log.info("handing over a message again", id=message.id, adapter=stored.adapter)
        try:
            handed = await adapter.send(message)
        except (OSError, TimeoutError) as exc:  # the gateway or server is unreachable
            handed = Handed("FAILED", detail=f"{type(exc).__name__}: {exc}")
        return await self._settle(message.id, handed)

    async def _settle(self, message_id: str, handed: Handed) -> Handed:
        """Store the adapter's answer, unless a delivery report came first."""
        later = self.clock()
        await self.store.write(
            lambda c: message_repo.set_status(
                c,
                message_id,
                handed.status,
                later,
                handed.detail,
                only_if=PENDING,
            )
        )
        return handed

    async def report(
        self, message_id: str, status: str, detail: str | None = None
    ) -> MessageRow | None:
        """A delivery report or bounce: the message's status is now ``status`` — unless it
        already has a final one (reports may arrive out of order: "accepted by the SMSC"
        after "delivered" changes nothing)."""
        now = self.clock()

        def write(conn: Connection) -> MessageRow | None:
            current = message_repo.get(conn, message_id)
            if current is None or current.status in FINAL_STATUSES:
                return current
            row = message_repo.set_status(conn, message_id, status, now, detail)
            if row is not None and row.execution_uuid:
                self._wake_in(conn, row.execution_uuid, now)
            return row

        row = await self.store.write(write)
        self._nudge()
        return row

    async def set_external_id(self, message_id: str, external_id: str) -> None:
        await self.store.write(lambda c: message_repo.set_external_id(c, message_id, external_id))

    async def message_by_external_id(self, adapter: str, external_id: str) -> MessageRow | None:
        return await self.store.read(lambda c: message_repo.by_external_id(c, adapter, external_id))

    async def message(self, message_id: str) -> MessageRow | None:
        return await self.store.read(lambda c: message_repo.get(c, message_id))

    # waking -----------------------------------------------------------------------------
    def _wake_in(self, conn: Connection, execution_uuid: str, now: float) -> None:
        if call_repo.wake_execution(conn, execution_uuid, now):
            notify(conn, Work.EXECUTIONS)  # the workers of other processes (PostgreSQL)

    def _nudge(self) -> None:
        if self.wake is not None:
            self.wake(0.0)

    # the end of an execution ------------------------------------------------------------
    async def on_finish(
        self, state: ExecutionState, flow: CompiledFlow | None, account: Account, now: float
    ) -> tuple[Write, AfterCommit | None] | None:
        """Completion hook, run before the flow-complete payload is built: end the legs the
        flow left open (the caller hung up, or we hang up now with cause 16) and bring each
        message's ``delivery_status`` up to the latest report."""
        open_legs = [leg for leg in state.call_legs if leg.get("call_id") and not leg.get("end")]
        messages = [m for m in [*state.sms, *state.emails] if m.get("id")]
        if not open_legs and not messages:
            return None
        for leg in open_legs:
            row = await self.call(str(leg["call_id"]))
            if row is None:
                continue
            await end_leg(self, account, row, leg, now)
        for record in messages:
            stored = await self.message(str(record["id"]))
            if stored is not None:
                record["delivery_status"] = stored.status
        return None


_TOKEN_ADAPTERS = frozenset({"http", "kannel"})
"""Adapters whose ``external_id`` is the report token until the gateway reports."""


def _handed_before(stored: MessageRow) -> Handed | None:
    """What a recorded message's earlier hand-over came to, or None if it must be handed
    over (again): it is past ``PENDING``, or still ``PENDING`` but the gateway had given
    its own reference (an SMPP ``submit_sm_resp``, stored before anything else)."""
    if stored.status != PENDING:
        return Handed(stored.status, stored.external_id, stored.detail)
    if stored.adapter == "smpp" and stored.external_id and ":" in stored.external_id:
        return Handed("SENT_TO_QUEUE", stored.external_id, "accepted before a restart")
    return None


def hangup_event(row: CallRow, now: float) -> dict[str, Any] | None:
    """The remote party's hangup, if it has happened by ``now``."""
    for event in row.events:
        if event.get("kind") == "hangup" and float(event["at"]) <= now:
            return event
    return None


async def end_leg(
    channels: Channels,
    account: AccountInfo | Account,
    row: CallRow,
    leg: dict[str, Any],
    now: float,
    *,
    cause: str = NORMAL_CLEARING,
) -> None:
    """End a leg in its record and in the store: by the remote party when its hangup is
    due, else by us now (the adapter is told)."""
    if leg.get("end"):
        return
    remote = hangup_event(row, now)
    if remote is not None:
        leg["end"] = float(remote["at"])
        leg["remote_hangup"] = True
        leg["hangup_cause"] = str(remote.get("cause") or NORMAL_CLEARING)
    else:
        if row.status != ENDED:
            await channels.voice(account).hangup(row)
        leg["end"] = now
        leg["remote_hangup"] = False
        leg["hangup_cause"] = cause
    if row.status != ENDED:
        await channels.set_status(
            row.id,
            status=ENDED,
            ended_at=leg["end"],
            hangup_cause=leg["hangup_cause"],
            remote_hangup=leg["remote_hangup"],
        )


def leg_record(row: CallRow, now: float, callee_type: str) -> dict[str, Any]:
    """The ``callDetails`` entry of a new leg (snake_case, webhooks/payload.CallLeg)."""
    return {
        "call_id": row.id,
        "cdr_id": f"{row.id}##{row.adapter}-1",
        "start": now,
        "callee": row.cli if row.incoming else row.dnis,
        "did": row.dnis if row.incoming else row.cli,
        "dtmf": [],
        "incoming": row.incoming,
        "callee_type": callee_type,
    }
