"""What a channel adapter is: one small interface per channel, and what every adapter is
given. Adapters act on the outside world (ring a number, play a prompt, hand over an SMS
or an e-mail); the channel layer (:mod:`flowhook.channels.service`) keeps the durable
record of every leg and message, and adapters report what happened into it — the
simulator writes its whole script there at once, a carrier would write events as its
network reports them.
"""

from __future__ import annotations

import secrets
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from flowhook.channels.config import ChannelSettings
from flowhook.domain.account import Account, AccountInfo
from flowhook.domain.call import CallRow
from flowhook.settings import Settings

if TYPE_CHECKING:
    from flowhook.channels.service import Channels
    from flowhook.webhooks.client import HttpClient

# Q.850 cause values used in ``hangupCause``
NORMAL_CLEARING = "16"
USER_BUSY = "17"
NO_USER_RESPONSE = "18"
NO_ANSWER = "19"
CALL_REJECTED = "21"
TEMPORARY_FAILURE = "41"


@dataclass(frozen=True)
class AdapterContext:
    """What an adapter is built with for one account's use."""

    settings: Settings
    clock: Callable[[], float]
    options: ChannelSettings
    channels: Channels
    account: AccountInfo | Account
    http: HttpClient | None = None  # the process's client (its egress guard included)


class VoiceAdapter(ABC):
    """Places and answers call legs. How ringing ends, key presses and the remote party's
    hangup are reported as events on the leg (``channels.add_events``)."""

    name: ClassVar[str]

    def __init__(self, context: AdapterContext) -> None:
        self.context = context

    @abstractmethod
    async def dial(self, call: CallRow) -> None:
        """Start ringing ``call.dnis`` from ``call.cli`` (the leg is stored as RINGING)."""

    @abstractmethod
    async def answer(self, call: CallRow) -> None:
        """Answer an incoming leg."""

    @abstractmethod
    async def play(self, call: CallRow, prompt: str) -> None:
        """Play a prompt (text to speak or an audio reference) on an answered leg."""

    @abstractmethod
    async def hangup(self, call: CallRow) -> None:
        """End our side of the leg (or stop ringing)."""

    @abstractmethod
    async def record(self, call: CallRow, name: str) -> str:
        """Start recording the leg into ``name``; return where the recording will be
        published (``recordedFilePublicPath``). It stops when the leg ends or the flow
        moves on (``stop_recording``)."""

    async def stop_recording(self, call: CallRow, name: str) -> None:
        """Stop a recording (nothing to do for adapters whose recordings stop by themselves)."""
        return None


MESSAGE_NAMESPACE = uuid.UUID("6b1f3f0e-2c4b-5d8e-9a51-0f1e6c7d2a10")


def message_id(execution_uuid: str, widget_id: str, step: int) -> str:
    """The id of the message a widget sends at a step of an execution. Derived, not drawn:
    a widget replayed after a crash (the engine resumes from its last checkpoint, with the
    same step count) sends the message of the same id, which the channel layer finds in the
    store and hands over at most once more — never a second, different message."""
    return str(uuid.uuid5(MESSAGE_NAMESPACE, f"{execution_uuid}/{widget_id}/{step}"))


@dataclass(frozen=True)
class OutgoingMessage:
    """An SMS or e-mail as a flow sends it (variables substituted). ``id`` is stable across
    a replay (:func:`message_id`): adapters pass it on as the message's own reference
    (SMTP ``Message-ID``, the HTTP gateway's ``$sys.sms_id`` and report URL, SMPP's
    ``user_message_reference``) so that a gateway able to dedupe can."""

    id: str
    account_id: str
    sender: str
    to: str
    text: str
    subject: str = ""
    html: str | None = None
    report_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    """Proves a delivery-report callback is about this message (gateways cannot sign)."""


@dataclass(frozen=True)
class Handed:
    """What the gateway or server answered when the message was handed over."""

    status: str  # deliveryStatus: SENT_TO_QUEUE, SENT, FAILED, …
    external_id: str | None = None
    detail: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


FAILED_STATUSES = frozenset({"FAILED", "REJECTED", "UNDELIVERED", "BOUNCED"})
FINAL_STATUSES = FAILED_STATUSES | {"DELIVERED"}


class SmsAdapter(ABC):
    name: ClassVar[str]

    def __init__(self, context: AdapterContext) -> None:
        self.context = context

    def connect(self) -> None:
        """Open now the long-lived connection the adapter keeps (an SMPP bind), rather
        than on the first message: called at start-up and when the settings are saved."""
        return None

    @abstractmethod
    async def send(self, message: OutgoingMessage) -> Handed:
        """Hand the SMS to the gateway; delivery reports arrive later (``channels.report``)."""


class EmailAdapter(ABC):
    name: ClassVar[str]

    def __init__(self, context: AdapterContext) -> None:
        self.context = context

    @abstractmethod
    async def send(self, message: OutgoingMessage) -> Handed:
        """Hand the e-mail to the server; its answer is the first delivery status."""
