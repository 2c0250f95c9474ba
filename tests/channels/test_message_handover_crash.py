"""Nothing lost between a message's record and its hand-over: SIGKILL the server while the
SMTP server (or the SMSC) holds the hand-over, start it again on the same database, and
the execution resumes, hands the same message (same id) over again and completes with its
deliveryStatus — the message arrives exactly once: the SMTP server got nothing the first
time, the SMSC got it but its answer was lost and it dedupes on the message's reference."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from channels.conftest import REPORTING_SMS_FLOW, smpp_channels
from channels.test_call_crash import client, wait_until
from support.app import free_socket
from support.process import Process, create_account, flowhook_env, free_port
from support.smsc import smsc

pytestmark = pytest.mark.slow  # SIGKILLs a real server process

MAIL_FLOW: dict[str, Any] = {
    "name": "mail_once",
    "entry": {"start": "mail"},
    "widgets": {
        "mail": {
            "type": "email",
            "from": "orders@shop.test",
            "to": "asha@shop.test",
            "subject": "Order $flow.key.order is ready",
            "body": "Hi, order $flow.key.order is ready.",
        },
    },
}


class StallingMailbox:
    """An aiosmtpd handler that holds the first MAIL FROM until released (the server is
    slow to take the message: the sender may die waiting) and keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.held = threading.Event()
        self.release = threading.Event()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if not self.held.is_set():
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 2.0.0 queued"


def messages(db_url: str) -> list[tuple[str, str]]:
    """(id, status) of every message recorded, straight from the store."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, status FROM channel_messages ORDER BY id"))
            return [(str(r[0]), str(r[1])) for r in rows]
    finally:
        engine.dispose()


async def serve(env: dict[str, str], tmp_path: Path, log: str) -> tuple[Process, int]:
    env["FLOWHOOK_PORT"] = port = str(free_port())
    process = Process(["serve"], env, tmp_path / log)
    await process.listening(int(port))
    return process, int(port)


async def setup(http: aiohttp.ClientSession, channels: dict[str, Any], doc: dict[str, Any]) -> str:
    async with http.put("/v1/account/settings", json={"channels": channels}) as resp:
        assert resp.status == 200, await resp.text()
    async with http.post("/v1/flows", json=doc) as resp:
        assert resp.status == 201, await resp.text()
        flow_id = (await resp.json())["flow_id"]
    body = {
        "version": "test",
        "dnis": "9876500001",
        "variables": {"$flow.key.order": "4711", "$flow.key.name": "Asha"},
    }
    async with http.post(f"/v1/flows/{flow_id}/executions", json=body) as resp:
        assert resp.status == 202, await resp.text()
        return str((await resp.json())["uuid"])


async def finished(port: int, key: str, uuid: str, server: Process) -> dict[str, Any]:
    """The execution once it has ended (waiting for the event)."""
    async with client(port, key) as http:
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            async with http.get(f"/v1/executions/{uuid}") as resp:
                done = dict(await resp.json())
            if done.get("status") in ("COMPLETED", "FAILED"):
                return done
            assert asyncio.get_running_loop().time() < deadline, (done, server.output())
            await asyncio.sleep(0.05)


async def test_an_email_recorded_but_not_handed_over_arrives_once_after_a_kill(
    database_url: str, tmp_path: Path
) -> None:
    mailbox = StallingMailbox()
    with free_socket() as sock:
        smtp_port = sock.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        env = flowhook_env(
            database_url, tmp_path, smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_starttls=0
        )
        account = create_account(env)
        server, port = await serve(env, tmp_path, "serve1.log")
        try:
            async with client(port, account["api_key"]) as http:
                channels = {"email": "smtp", "email_senders": ["orders@shop.test"]}
                uuid = await setup(http, channels, MAIL_FLOW)
            await wait_until(mailbox.held.is_set, 30, server.output)
            assert [s for _, s in messages(database_url)] == ["PENDING"]
        finally:
            server.kill()  # the SMTP server still holds the hand-over
        mailbox.release.set()
        server, port = await serve(env, tmp_path, "serve2.log")
        try:
            done = await finished(port, account["api_key"], uuid, server)
        finally:
            server.stop()
    finally:
        controller.stop()
    assert done["status"] == "COMPLETED", done
    [sent] = done["email_details"]
    assert sent["delivery_status"] == "SENT", done
    [message] = mailbox.messages
    assert message["Subject"] == "Order 4711 is ready"
    assert sent["id"] in message["Message-ID"]
    assert messages(database_url) == [(sent["id"], "SENT")]  # nothing left PENDING


async def test_an_sms_whose_answer_was_lost_is_deduped_by_the_smsc_after_a_kill(
    database_url: str, tmp_path: Path
) -> None:
    env = flowhook_env(database_url, tmp_path)
    account = create_account(env)
    async with smsc(hold_first=1) as center:
        server, port = await serve(env, tmp_path, "serve1.log")
        try:
            async with client(port, account["api_key"]) as http:
                uuid = await setup(http, smpp_channels(center), REPORTING_SMS_FLOW)
            await wait_until(lambda: len(center.submits) == 1, 30, server.output)
        finally:
            server.kill()  # the SMSC took the message; its answer never left
        assert [s for _, s in messages(database_url)] == ["PENDING"]
        server, port = await serve(env, tmp_path, "serve2.log")
        try:
            done = await finished(port, account["api_key"], uuid, server)
        finally:
            server.stop()
    assert done["variables"]["$flow.key.outcome"] == "delivered", done
    [sms] = done["sms_details"]
    assert sms["delivery_status"] == "DELIVERED"
    assert [s.answer for s in center.submits] == ["ESME_ROK", "duplicate"]
    assert len(center.accepted()) == 1  # delivered once
    first, again = center.submits
    assert first.reference is not None and first.reference == again.reference
    assert messages(database_url) == [(sms["id"], "DELIVERED")]
