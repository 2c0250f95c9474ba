"""A small SMS centre (SMSC) for tests: an asyncio server on 127.0.0.1 speaking enough SMPP
3.4 for an ESME — bind_transceiver, submit_sm(_resp), deliver_sm(_resp) receipts,
enquire_link, unbind — with aiosmpplib's PDU codec (the adapter's library, used here from
the SMSC's side).

What it does is scripted: ``hold_first`` submits accepted but never answered (the sender
may die waiting for the answer), ``throttle_first`` submits answered ``ESME_RTHROTTLED``,
``drop_first`` submits read and then the connection closed without an answer (the SMSC
drops the bind), a receipt per destination (``stat:DELIVRD`` unless ``receipts`` says
otherwise). ``submits`` records every submit_sm it read, with the time it arrived. A
submit_sm whose ``user_message_reference``, source and destination match one it accepted
is a duplicate: answered with the first one's message id, not delivered again
(``answer == "duplicate"``), as an SMSC that dedupes does.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime

from aiosmpplib import (
    BindTransceiver,
    BindTransceiverResp,
    DeliverSm,
    EnquireLinkResp,
    GenericNack,
    PhoneNumber,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    UnbindResp,
)
from aiosmpplib.state import USER_MESSAGE_REFERENCE, SmppCommand

ENCODING = "gsm0338"


@dataclass
class Submit:
    at: float  # time.monotonic() when it arrived
    source: str
    destination: str
    text: str
    answer: str  # ESME_ROK, ESME_RTHROTTLED, "dropped", "held" or "duplicate"
    message_id: str = ""
    reference: int | None = None  # the user_message_reference TLV


@dataclass
class Smsc:
    system_id: str = "flowhook"
    password: str = "secret1"
    throttle_first: int = 0
    drop_first: int = 0
    hold_first: int = 0
    receipts: dict[str, str] = field(default_factory=dict)  # destination → stat
    receipt_after_s: float = 0.05
    port: int = 0
    submits: list[Submit] = field(default_factory=list)
    connections: int = 0
    binds: int = 0
    refused_binds: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def accepted(self) -> list[Submit]:
        return [s for s in self.submits if s.answer == "ESME_ROK"]

    async def wait_submits(self, count: int, timeout: float = 30) -> list[Submit]:
        deadline = time.monotonic() + timeout
        while len(self.accepted()) < count:
            assert time.monotonic() < deadline, self.submits
            await asyncio.sleep(0.02)
        return self.accepted()

    # the connection -------------------------------------------------------------------
    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        sequence = itertools.count(1)
        try:
            while True:
                header_data = await reader.readexactly(16)
                header = SmppMessage.parse_header(header_data)
                body = await reader.readexactly(header.pdu_length - 16)
                pdu = header_data + body
                if not await self._answer(pdu, header, writer, sequence):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(
        self,
        pdu: bytes,
        header: object,
        writer: asyncio.StreamWriter,
        sequence: itertools.count[int],
    ) -> bool:
        command = header.smpp_command  # type: ignore[attr-defined]
        seq = header.sequence_num  # type: ignore[attr-defined]
        if command == SmppCommand.BIND_TRANSCEIVER:
            bind = BindTransceiver.from_pdu(pdu, header)
            ok = bind.system_id == self.system_id and bind.password == self.password
            status = SmppCommandStatus.ESME_ROK if ok else SmppCommandStatus.ESME_RINVPASWD
            if ok:
                self.binds += 1
            else:
                self.refused_binds += 1
            await self._send(writer, BindTransceiverResp(seq, status, system_id="testsmsc"))
            return bool(ok)
        if command == SmppCommand.ENQUIRE_LINK:
            await self._send(writer, EnquireLinkResp(seq))
            return True
        if command == SmppCommand.UNBIND:
            await self._send(writer, UnbindResp(seq))
            return False
        if command in (SmppCommand.DELIVER_SM_RESP, SmppCommand.GENERIC_NACK):
            return True
        if command != SmppCommand.SUBMIT_SM:
            await self._send(writer, GenericNack(seq, SmppCommandStatus.ESME_RINVCMDID))
            return True
        submit = SubmitSm.from_pdu(pdu, header, ENCODING)
        text = submit.short_message or submit.message_payload
        reference = next(
            (int(p.value) for p in submit.optional_params or [] if p.tag == USER_MESSAGE_REFERENCE),
            None,
        )
        record = Submit(
            time.monotonic(),
            submit.source.number,
            submit.destination.number,
            text,
            "",
            "",
            reference,
        )
        self.submits.append(record)
        if self.hold_first > 0:  # accepted, but the answer never leaves
            self.hold_first -= 1
            record.answer, record.message_id = "ESME_ROK", f"smsc{next(self._ids)}"
            return True
        first = self._first_of(record)
        if first is not None:
            record.answer, record.message_id = "duplicate", first.message_id
            await self._send(writer, SubmitSmResp(seq, message_id=first.message_id))
            self._receipt_later(writer, sequence, first)
            return True
        if self.drop_first > 0:
            self.drop_first -= 1
            record.answer = "dropped"
            return False  # the SMSC drops the bind without answering
        if self.throttle_first > 0:
            self.throttle_first -= 1
            record.answer = "ESME_RTHROTTLED"
            await self._send(writer, SubmitSmResp(seq, SmppCommandStatus.ESME_RTHROTTLED))
            return True
        record.answer = "ESME_ROK"
        record.message_id = f"smsc{next(self._ids)}"
        await self._send(writer, SubmitSmResp(seq, message_id=record.message_id))
        self._receipt_later(writer, sequence, record)
        return True

    def _receipt_later(
        self, writer: asyncio.StreamWriter, sequence: itertools.count[int], record: Submit
    ) -> None:
        task = asyncio.create_task(self._receipt(writer, sequence, record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _first_of(self, record: Submit) -> Submit | None:
        """The submit ``record`` repeats (same reference, source and destination), if any."""
        if record.reference is None:
            return None
        for earlier in self.accepted():
            key = (earlier.reference, earlier.source, earlier.destination)
            if key == (record.reference, record.source, record.destination):
                return earlier
        return None

    async def _receipt(
        self, writer: asyncio.StreamWriter, sequence: itertools.count[int], record: Submit
    ) -> None:
        await asyncio.sleep(self.receipt_after_s)
        stat = self.receipts.get(record.destination, "DELIVRD")
        now = datetime.now().replace(second=0, microsecond=0)
        text = DeliverSm.encode_receipt(
            {
                "id": record.message_id,
                "sub": 1,
                "dlvrd": 1 if stat == "DELIVRD" else 0,
                "submit date": now,
                "done date": now,
                "stat": stat,
                "err": 0 if stat == "DELIVRD" else 1,
                "text": record.text[:20],
            }
        )
        receipt = DeliverSm(
            sequence_num=next(sequence),
            short_message=text,
            source=PhoneNumber(record.destination),
            destination=PhoneNumber(record.source),
            esm_class=0b00000100,  # a delivery receipt
            registered_delivery=0,
        )
        with suppress(ConnectionError):
            await self._send(writer, receipt)

    async def _send(self, writer: asyncio.StreamWriter, message: SmppMessage) -> None:
        writer.write(message.pdu())
        await writer.drain()

    def drop_binds(self) -> None:
        """Close every connection at once (an SMSC restart)."""
        for writer in list(self._writers):
            writer.close()


@asynccontextmanager
async def smsc(**script: object) -> AsyncIterator[Smsc]:
    center = Smsc(**script)  # type: ignore[arg-type]
    server = await asyncio.start_server(center.serve, "127.0.0.1", 0)
    center.port = server.sockets[0].getsockname()[1]
    try:
        yield center
    finally:
        center.drop_binds()
        server.close()
        await server.wait_closed()
        for task in list(center._tasks):
            task.cancel()
