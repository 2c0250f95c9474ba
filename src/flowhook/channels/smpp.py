"""SMS over SMPP 3.4, what carriers' SMS centres (SMSC) speak: the ``smpp`` adapter.

One bind (a transceiver) per SMSC account and process, kept in ``Channels.sessions`` and
shared by every flowhook account that names the same SMSC, host and system_id. The
protocol engine is aiosmpplib's ``ESME`` (bind, enquire_link, rebind after a dropped
connection with exponential backoff, its rate-limiter and throttle-handler hooks); this
module adds what a flow needs from it:

- ``send`` waits for the message's own ``submit_sm_resp``: ``SENT_TO_QUEUE`` with the
  SMSC's message id, ``REJECTED`` for an error status;
- **no message is lost to a dropped bind**: a message taken from the queue or written on
  a bind that ended without its answer is queued again for the next bind (at least once:
  an SMSC that accepted it but lost the answer may get it twice);
- a **refused bind** (wrong credentials) fails the waiting messages at once with the
  SMSC's reason, while the ESME keeps trying to bind;
- **throttling**: ``max_per_second`` spaces submits evenly; an ``ESME_RTHROTTLED`` (or
  ``ESME_RMSGQFUL``) answer pauses the bind ``throttle_backoff_s`` (doubling while they go
  on) and the message is submitted again;
- **delivery receipts**: a ``deliver_sm`` receipt names the SMSC's message id; its
  ``stat:`` becomes the ``deliveryStatus`` (``DELIVRD`` → DELIVERED, ``UNDELIV`` /
  ``EXPIRED`` / ``DELETED`` → UNDELIVERED, ``REJECTD`` → REJECTED). The SMSC's id is stored
  on the message before the next PDU is read, so a receipt that follows at once — or days
  later on another process's bind — finds it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiosmpplib import (
    ESME,
    AbstractHook,
    AbstractRateLimiter,
    AbstractThrottleHandler,
    BindTransceiverResp,
    DeliverSm,
    GenericNack,
    OptionalParam,
    PhoneNumber,
    SmppCommandStatus,
    SubmitSm,
    SubmitSmResp,
)
from aiosmpplib.broker import AbstractBroker
from aiosmpplib.retrytimer import SimpleExponentialBackoff
from aiosmpplib.state import USER_MESSAGE_REFERENCE, SmppSessionState

from flowhook.channels.adapter import Handed, OutgoingMessage, SmsAdapter
from flowhook.channels.config import SmppSettings
from flowhook.channels.egress import resolve_allowed
from flowhook.channels.registry import register
from flowhook.logging import get_logger
from flowhook.webhooks.guard import BlockedRequest

log = get_logger(__name__)

RECEIPT_STATUSES = {
    "DELIVRD": "DELIVERED",
    "UNDELIV": "UNDELIVERED",
    "EXPIRED": "UNDELIVERED",
    "DELETED": "UNDELIVERED",
    "REJECTD": "REJECTED",
    "ACCEPTD": "SENT",
}
"""A receipt's ``stat:`` as a ``deliveryStatus`` (``UNKNOWN`` and others change nothing)."""

_THROTTLED = frozenset({SmppCommandStatus.ESME_RTHROTTLED, SmppCommandStatus.ESME_RMSGQFUL})


@dataclass
class _Pending:
    """One message between ``send`` and its answer."""

    answer: asyncio.Future[Any]
    taken_on: int | None = None  # the bind whose sender took it from the queue
    written_on: int | None = None  # the bind it was written on
    attempts: int = 0
    throttled: int = 0


class _Queue(AbstractBroker):  # type: ignore[misc]
    """The ESME's queue, noting which bind took each message (a bind that ends while it
    holds one drops it silently: ``send`` queues it again)."""

    def __init__(self, session: SmppSession) -> None:
        self.session = session
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    async def enqueue(self, message: Any) -> None:
        await self.queue.put(message)

    async def dequeue(self) -> Any:
        message = await self.queue.get()
        pending = self.session.pending.get(message.log_id)
        if pending is not None:
            pending.taken_on = self.session.bind
        return message


class _Spacing(AbstractRateLimiter):  # type: ignore[misc]
    """At most ``rate`` submits a second, evenly spaced (no burst above the rate)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_at = 0.0

    async def limit(self) -> None:
        now = time.monotonic()
        at = max(now, self.next_at)
        self.next_at = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


class _Backoff(AbstractThrottleHandler):  # type: ignore[misc]
    """Pauses the bind after a throttling answer: ``first`` seconds, doubling (up to 60 s)
    while throttling answers go on, back to ``first`` after an accepted one."""

    def __init__(self, first: float) -> None:
        self.first = first
        self.pause = first
        self.until = 0.0

    async def throttled(self) -> None:
        self.until = time.monotonic() + self.pause
        self.pause = min(self.pause * 2, max(self.first, 60.0))

    async def not_throttled(self) -> None:
        self.pause = self.first

    async def allow_request(self) -> bool:
        return time.monotonic() >= self.until

    async def throttle_delay(self) -> float:
        return max(0.01, self.until - time.monotonic())


class _Hook(AbstractHook):  # type: ignore[misc]
    def __init__(self, session: SmppSession) -> None:
        self.session = session

    async def sending(self, smpp_message: Any, pdu: bytes, client_id: str) -> None:
        if isinstance(smpp_message, SubmitSm):
            pending = self.session.pending.get(smpp_message.log_id)
            if pending is not None:
                pending.written_on = self.session.bind

    async def received(self, smpp_message: Any, pdu: bytes, client_id: str) -> None:
        await self.session.received(smpp_message)

    async def send_error(self, smpp_message: Any, error: Exception, client_id: str) -> None:
        pending = self.session.pending.get(getattr(smpp_message, "log_id", ""))
        if pending is not None and not pending.answer.done():
            pending.answer.set_result(error)


class _GuardedEsme(ESME):  # type: ignore[misc]
    """aiosmpplib's ESME connecting only where the egress guard allows: the SMSC's name is
    resolved and judged before every connect (a refused one fails the waiting messages
    with the guard's reason, as a refused bind does, and is tried again with back-off)."""

    def __init__(self, session: SmppSession, **options: Any) -> None:
        super().__init__(**options)
        self.session = session
        self.target = options["smsc_host"]

    async def connect(self) -> None:
        if self._session_state == self.bind_mode.session_state:
            return
        try:
            self.smsc_host = await resolve_allowed(
                self.target, self.smsc_port, self.session.channels.settings
            )
        except BlockedRequest as exc:
            self.session.refuse(f"{exc.details.get('reason')}: {exc.message}")
            raise ConnectionError(exc.message) from None
        await super().connect()


@dataclass
class SmppSession:
    """One bind to an SMSC, shared by the accounts that use it in this process."""

    channels: Any  # flowhook.channels.service.Channels (typed loosely: no import cycle)
    options: SmppSettings
    tag: str
    pending: dict[str, _Pending] = field(default_factory=dict)
    bind: int = 0
    """How many binds this session has made; the current one's number."""
    rebound: asyncio.Event = field(default_factory=asyncio.Event)
    esme: Any = None
    task: asyncio.Task[None] | None = None
    refused: str | None = None
    """Why the last bind failed (the SMSC's ``ESME_RINVPASWD``, the guard's
    ``BLOCKED_ADDRESS`` …); None once one succeeds."""

    def __post_init__(self) -> None:
        self.queue = _Queue(self)
        self.esme = _GuardedEsme(
            self,
            smsc_host=self.options.host,
            smsc_port=self.options.port,
            system_id=self.options.system_id,
            password=self.options.password,
            system_type=self.options.system_type,
            client_id=f"flowhook-{self.tag}",
            enquire_link_interval=float(self.options.enquire_link_s),
            log_level=logging.CRITICAL,
            log_handler=logging.NullHandler(),
            hook=_Hook(self),
            broker=self.queue,
            rate_limiter=_Spacing(self.options.max_per_second)
            if self.options.max_per_second
            else None,
            throttle_handler=_Backoff(self.options.throttle_backoff_s),
            retry_timer=SimpleExponentialBackoff(min_delay=200, max_increases=6),
            socket_timeout=10.0,
        )

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.esme.start())

    def state(self) -> dict[str, Any]:
        """The bind as ``/healthz`` shows it: ``BOUND``, ``CONNECTING`` (between binds,
        retrying with back-off) or ``REFUSED`` (the last attempt was refused: why)."""
        bound = self.esme.session_state == SmppSessionState.BOUND_TRX
        state = "BOUND" if bound else "REFUSED" if self.refused else "CONNECTING"
        shown: dict[str, Any] = {"state": state, "binds": self.bind}
        if self.refused and not bound:
            shown["error"] = self.refused
        return shown

    async def close(self) -> None:
        task, self.task = self.task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(self.esme.stop(), 5)
        except (OSError, TimeoutError) as exc:
            log.warning("SMPP unbind failed", error=repr(exc))
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            log.warning("SMPP session ended with an error", error=repr(exc))

    # the PDUs the SMSC sends -----------------------------------------------------------
    async def received(self, message: Any) -> None:
        if isinstance(message, BindTransceiverResp):
            if message.command_status == SmppCommandStatus.ESME_ROK:
                self.bind += 1
                self.refused = None
            else:  # the ESME tries again later; messages waiting for a bind fail now
                self.refuse(f"the SMSC refused the bind: {message.command_status.name}")
                return
            self.rebound.set()
            self.rebound = asyncio.Event()
            return
        if isinstance(message, (SubmitSmResp, GenericNack)):
            pending = self.pending.get(message.log_id)
            if pending is None:
                return
            if isinstance(message, SubmitSmResp) and message.command_status == (
                SmppCommandStatus.ESME_ROK
            ):
                # stored before the next PDU (perhaps its receipt) is read
                external = self.external_id(message.message_id)
                await self.channels.set_external_id(message.log_id, external)
            if not pending.answer.done():
                pending.answer.set_result(message)
            return
        if isinstance(message, DeliverSm) and message.is_receipt():
            await self._receipt(message)

    def refuse(self, reason: str) -> None:
        """No bind now (refused by the SMSC or by the egress guard): the messages waiting
        for one fail with ``reason``; the ESME keeps trying with back-off."""
        self.refused = reason
        self.rebound.set()
        self.rebound = asyncio.Event()

    def external_id(self, smsc_message_id: str) -> str:
        """The id stored on the message: the SMSC's, prefixed by which SMSC it is."""
        return f"{self.tag}:{smsc_message_id}"

    async def _receipt(self, receipt: Any) -> None:
        parsed = receipt.parse_receipt()
        smsc_id, stat = str(parsed.get("id") or ""), str(parsed.get("stat") or "").upper()
        status = RECEIPT_STATUSES.get(stat)
        if not smsc_id or status is None:
            return
        row = await self.channels.message_by_external_id("smpp", self.external_id(smsc_id))
        if row is None:
            log.info("SMPP receipt for an unknown message", smsc_message_id=smsc_id)
            return
        err = parsed.get("err")
        await self.channels.report(row.id, status, f"SMPP receipt stat:{stat} err:{err}")

    # sending ---------------------------------------------------------------------------
    async def submit(self, message: OutgoingMessage) -> Handed:
        """Queue the message and wait for its answer, queueing it again when the bind it was
        on ended without one or the SMSC throttled it."""
        self.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.submit_timeout_s
        pending = _Pending(loop.create_future())
        self.pending[message.id] = pending
        try:
            while True:
                pending.attempts += 1
                await self.queue.enqueue(self._pdu(message))
                answer = await self._answer(pending, deadline)
                if isinstance(answer, SubmitSmResp):
                    status = answer.command_status
                    if status == SmppCommandStatus.ESME_ROK:
                        detail = f"submit_sm_resp message_id {answer.message_id}"
                        if pending.attempts > 1:
                            detail += f" (attempt {pending.attempts})"
                        return Handed("SENT_TO_QUEUE", self.external_id(answer.message_id), detail)
                    if status not in _THROTTLED:
                        return Handed("REJECTED", detail=f"submit_sm_resp {status.name}")
                    pending.throttled += 1
                elif isinstance(answer, GenericNack):
                    return Handed("REJECTED", detail=f"generic_nack {answer.command_status.name}")
                elif isinstance(answer, ValueError):
                    return Handed("REJECTED", detail=f"cannot encode the message: {answer}")
                elif answer == "refused":
                    return Handed("FAILED", detail=str(self.refused))
                elif answer is None:
                    return Handed(
                        "FAILED",
                        detail=f"no answer from the SMSC in {self.options.submit_timeout_s:g} s "
                        f"({pending.attempts} attempt(s), {pending.throttled} throttled)",
                    )
                # else lost with its bind, or throttled: queue it again
                pending.answer = loop.create_future()
                pending.taken_on = pending.written_on = None
        finally:
            self.pending.pop(message.id, None)

    async def _answer(self, pending: _Pending, deadline: float) -> Any:
        """The SMSC's answer; ``"lost"`` when the bind that took the message ended without
        one, ``"refused"`` when the SMSC refused to bind; None at the deadline."""
        loop = asyncio.get_running_loop()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            rebound = asyncio.ensure_future(self.rebound.wait())
            try:
                await asyncio.wait(
                    {pending.answer, rebound}, timeout=remaining, return_when="FIRST_COMPLETED"
                )
            finally:
                rebound.cancel()
            if pending.answer.done():
                return pending.answer.result()
            if self.refused is not None and pending.written_on is None:
                return "refused"
            taken = pending.written_on or pending.taken_on
            if taken is not None and taken < self.bind:
                return "lost"

    def _pdu(self, message: OutgoingMessage) -> Any:
        return SubmitSm(
            short_message=message.text,
            source=PhoneNumber(message.sender[:20]),
            destination=PhoneNumber(message.to[:20]),
            registered_delivery=0b00000001,  # a receipt for success and failure
            log_id=message.id,
            optional_params=[OptionalParam(USER_MESSAGE_REFERENCE, user_reference(message.id))],
        )


def user_reference(message_id: str) -> int:
    """The message's ``user_message_reference`` (SMPP 3.4 5.3.2.17, two octets): derived
    from its id, so the same message handed over again after a restart carries the same
    reference and an SMSC that dedupes on it (with source and destination) can."""
    return int.from_bytes(hashlib.sha256(message_id.encode()).digest()[:2], "big")


def session_key(options: SmppSettings) -> str:
    """Accounts with the same SMSC, credentials and rate share one bind."""
    text = "\0".join(
        str(v)
        for v in (
            options.host,
            options.port,
            options.system_id,
            options.password,
            options.system_type,
            options.max_per_second,
            options.throttle_backoff_s,
        )
    )
    return "smpp:" + hashlib.sha256(text.encode()).hexdigest()


def smsc_tag(options: SmppSettings) -> str:
    """Which SMSC a stored message id belongs to (ids are unique only per SMSC)."""
    text = f"{options.host}:{options.port}:{options.system_id}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@register("sms", "smpp")
class SmppSms(SmsAdapter):
    name = "smpp"

    def _session(self) -> SmppSession:
        options = self.context.options.smpp
        assert options is not None  # ChannelSettings requires it for this adapter
        channels = self.context.channels
        key = session_key(options)
        session = channels.sessions.get(key)
        if session is None:
            session = channels.sessions[key] = SmppSession(channels, options, smsc_tag(options))
        assert isinstance(session, SmppSession)
        return session

    def connect(self) -> None:
        self._session().start()

    async def send(self, message: OutgoingMessage) -> Handed:
        return await self._session().submit(message)
