"""SMS and e-mail from flows: the simulator's scripted delivery reports, an inbound SMS,
and e-mail over SMTP to a real local server (aiosmtpd) that receives the message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from channels.conftest import (
    TIME_SCALE,
    create_flow,
    default_webhook,
    email_flow,
    flow_complete,
    run_flow,
    smtp_account,
    wait_status,
)
from support.app import free_socket, running_api, settings_for
from support.mailserver import Mailbox, mail_server
from support.receiver import receiver


def sms_flow(**sms: Any) -> dict[str, Any]:
    return {
        "name": "texts",
        "webhook_enabled": True,
        "entry": {"start": "text"},
        "widgets": {
            "text": {
                "type": "sms",
                "from": "FLOWHK",
                "text": "Hi $flow.key.name, order $flow.key.order is ready",
                "exits": {"undelivered": "note", "no_report": "note"},
                **sms,
            },
            "note": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.not_delivered", "value": "yes"}],
            },
        },
    }


async def test_sms_waits_for_its_delivery_report(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    script = {"sms_reports": {"919876500009": "UNDELIVERED"}, "report_after_ms": 2000}
    status, _ = await api.request(
        "PUT", "/v1/account/settings", key=key, json={"channels": {"simulator": script}}
    )
    assert status == 200
    async with receiver() as rec:
        await default_webhook(api, key, rec.url)
        flow_id = await create_flow(api, key, sms_flow(wait_report_s=600))
        names = {"$flow.key.name": "Asha", "$flow.key.order": "4711"}
        delivered = await run_flow(api, key, flow_id, "9876500001", **names)
        undelivered = await run_flow(api, key, flow_id, "9876500009", **names)
        payloads = [r.json() for r in await rec.wait_for(2)]
    assert "$flow.key.not_delivered" not in delivered["variables"]
    assert undelivered["variables"]["$flow.key.not_delivered"] == "yes"
    by_uuid = {p["phonon-uuid"]: p for p in payloads}
    [sms] = by_uuid[delivered["uuid"]]["smsDetails"]
    assert sms["text"] == "Hi Asha, order 4711 is ready"
    assert sms["to"] == "919876500001" and sms["from"] == "FLOWHK"
    assert sms["deliveryStatus"] == "DELIVERED" and "sendTime" in sms
    [sms] = by_uuid[undelivered["uuid"]]["smsDetails"]
    assert sms["deliveryStatus"] == "UNDELIVERED"


async def test_sms_without_waiting_is_queued(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account()
    script = {"report_after_ms": 3_600_000}  # the report comes long after the flow
    await api.request(
        "PUT", "/v1/account/settings", key=key, json={"channels": {"simulator": script}}
    )
    flow_id = await create_flow(api, key, sms_flow())
    done = await run_flow(api, key, flow_id, "9876500001", **{"$flow.key.name": "Asha"})
    assert done["sms_details"][0]["delivery_status"] == "SENT_TO_QUEUE"
    assert done["sms_details"][0]["text"] == "Hi Asha, order $flow.key.order is ready"


async def test_inbound_sms_starts_the_did_flow_which_replies(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account()
    doc = {
        "name": "sms_bot",
        "type": "inbound",
        "dids": ["+912240001234"],
        "entry": {"start": "reply"},
        "widgets": {
            "reply": {
                "type": "sms",
                "to": "$call.sms.from",
                "from": "FLOWHK",
                "text": "You wrote: $call.sms.text",
            }
        },
    }
    await create_flow(api, key, doc)
    status, started = await api.request(
        "POST",
        "/v1/sim/sms",
        key=key,
        json={"from": "+919812345678", "to": "+912240001234", "text": "STOP"},
    )
    assert status == 202, started
    done = await wait_status(api, key, started["uuid"], ("COMPLETED", "FAILED"))
    assert len(done["sms_details"]) == 2, (done["steps"], done["error_reason"])
    received, reply = done["sms_details"]
    assert received["delivery_status"] == "RECEIVED" and received["text"] == "STOP"
    assert reply["to"] == "919812345678" and reply["text"] == "You wrote: STOP"


# e-mail over SMTP ----------------------------------------------------------------------


@pytest.fixture
async def smtp_api(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Any, Mailbox]]:
    mailbox = Mailbox()
    with free_socket() as bounce_sock:
        mailbox.bounce_port = bounce_sock.getsockname()[1]
    with mail_server(mailbox) as port:
        settings = settings_for(
            database_url,
            tmp_path,
            time_scale=TIME_SCALE,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            bounce_smtp_port=mailbox.bounce_port,
        )
        async with running_api(settings) as api:
            yield api, mailbox


async def test_email_really_arrives_at_the_smtp_server(smtp_api: Any) -> None:
    api, mailbox = smtp_api
    key = await smtp_account(api)
    async with receiver() as rec:
        await default_webhook(api, key, rec.url)
        flow_id = await create_flow(api, key, email_flow())
        variables = {"$flow.key.email": "asha@shop.test", "$flow.key.name": "Asha & Co"}
        done = await run_flow(
            api, key, flow_id, "9876500001", **variables, **{"$flow.key.order": "4711"}
        )
        payload = flow_complete(await rec.wait_for(1))
    assert "$flow.key.mail_failed" not in done["variables"]
    [message] = mailbox.messages
    assert message["From"] == "orders@shop.test" and message["To"] == "asha@shop.test"
    assert message["Subject"] == "Order 4711 is ready"
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html = html_part.get_content()
    assert "<p>Hi <b>Asha &amp; Co</b>, order 4711 is ready.</p>" in html
    assert text_part.get_content().strip() == "Hi Asha & Co, order 4711 is ready."
    assert mailbox.envelopes[0].rcpt_tos == ["asha@shop.test"]
    [sent] = payload["emailDetails"]
    assert sent["deliveryStatus"] == "SENT" and sent["subject"] == "Order 4711 is ready"
    assert sent["to"] == "asha@shop.test" and sent["from"] == "orders@shop.test"


async def test_email_refused_by_the_server_takes_the_failed_exit(smtp_api: Any) -> None:
    api, mailbox = smtp_api
    mailbox.refuse.add("nobody@shop.test")
    key = await smtp_account(api)
    flow_id = await create_flow(api, key, email_flow())
    done = await run_flow(
        api, key, flow_id, "9876500001", **{"$flow.key.email": "nobody@shop.test"}
    )
    assert done["variables"]["$flow.key.mail_failed"] == "yes"
    assert done["email_details"][0]["delivery_status"] == "REJECTED"
    assert "550" in str(done["steps"][0]["email"]["detail"])
    assert mailbox.messages == []


async def test_email_from_an_unverified_sender_is_not_sent(smtp_api: Any) -> None:
    api, mailbox = smtp_api
    key = await smtp_account(api)
    doc = email_flow()
    doc["widgets"]["mail"]["from"] = "ceo@shop.test"
    flow_id = await create_flow(api, key, doc)
    done = await run_flow(api, key, flow_id, "9876500001", **{"$flow.key.email": "asha@shop.test"})
    assert done["variables"]["$flow.key.mail_failed"] == "yes"
    assert done["email_details"][0]["delivery_status"] == "REJECTED"
    assert mailbox.messages == []


def dsn(original: EmailMessage, action: str = "failed") -> bytes:
    """A delivery status notification (RFC 3464) as a mail server returns it."""
    returned = "".join(f"{name}: {value}\r\n" for name, value in original.items())
    return (
        "From: MAILER-DAEMON@mx.shop.test\r\n"
        "To: bounces@shop.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n--b1\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "Your message could not be delivered.\r\n"
        "\r\n--b1\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.shop.test\r\n\r\n"
        "Final-Recipient: rfc822; asha@shop.test\r\n"
        f"Action: {action}\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable\r\n"
        "\r\n--b1\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"{returned}"
        "\r\n--b1--\r\n"
    ).encode()


async def test_a_bounce_marks_the_email_failed_and_wakes_the_flow(smtp_api: Any) -> None:
    api, mailbox = smtp_api
    key = await smtp_account(api)
    doc = email_flow()
    doc["widgets"]["mail"]["wait_report_s"] = 600
    doc["widgets"]["mail"]["exits"] = {"undelivered": "note", "no_report": "ok"}
    doc["widgets"]["ok"] = {"type": "end"}
    async with receiver() as rec:
        await default_webhook(api, key, rec.url)
        flow_id = await create_flow(api, key, doc)
        status, started = await api.request(
            "POST",
            f"/v1/flows/{flow_id}/executions",
            key=key,
            json={"version": "test", "variables": {"$flow.key.email": "asha@shop.test"}},
        )
        assert status == 202, started
        await asyncio.wait_for(mailbox.arrived.wait(), 30)
        await aiosmtplib.send(
            dsn(mailbox.messages[0]),
            hostname="127.0.0.1",
            port=mailbox.bounce_port,
            sender="mailer-daemon@mx.shop.test",
            recipients=["bounces@shop.test"],
            start_tls=False,
        )
        done = await wait_status(api, key, started["uuid"], ("COMPLETED", "FAILED"))
        payload = flow_complete(await rec.wait_for(1))
    assert done["variables"]["$flow.key.mail_failed"] == "yes"
    [sent] = payload["emailDetails"]
    assert sent["deliveryStatus"] == "BOUNCED"


async def test_the_bounce_endpoint_refuses_mail_that_is_no_bounce(smtp_api: Any) -> None:
    _, mailbox = smtp_api
    spam = EmailMessage()
    spam["From"] = "someone@elsewhere.test"
    spam["To"] = "bounces@shop.test"
    spam["Subject"] = "hello"
    spam.set_content("not a delivery status notification")
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await aiosmtplib.send(spam, hostname="127.0.0.1", port=mailbox.bounce_port, start_tls=False)
    assert refused.value.code == 550
