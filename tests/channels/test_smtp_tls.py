"""E-mail over an encrypted, authenticated relay: the local aiosmtpd server speaks STARTTLS
or implicit TLS with a certificate from a throw-away CA, and checks a user and password.
The adapter verifies the certificate (trusting the CA through ``FLOWHOOK_SMTP_CA_FILE``),
logs in, and the message arrives; a wrong password or an untrusted certificate ends in a
``FAILED`` e-mail that says why, and the flow goes on by its ``failed`` exit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from channels.conftest import (
    create_flow,
    default_webhook,
    email_flow,
    flow_complete,
    run_flow,
    smtp_account,
)
from flowhook.settings import Settings
from support.mailserver import Mailbox, Security, mail_server, throwaway_ca
from support.receiver import receiver

# aiosmtpd counts only a STARTTLS upgrade as TLS, and warns about a login it requires on
# the implicit-TLS server (which is encrypted from the first byte)
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

USER, PASSWORD = "relay-user", "relay-secret"

# how the server speaks, and FLOWHOOK_SMTP_STARTTLS / FLOWHOOK_SMTP_TLS for it
MODES = {
    "starttls required": ("starttls", {"smtp_starttls": True}),
    "starttls when offered": ("starttls", {}),  # the default: upgrade when offered
    "implicit tls": ("tls", {"smtp_tls": True}),
}

Relay = Callable[..., Any]


@pytest.fixture
def relay(api_with: Any, tmp_path: Path) -> Relay:
    """``async with relay(security, settings, ...) as (api, mailbox)``: a flowhook server
    sending through a local TLS server that requires ``USER``/``PASSWORD``."""
    ca = throwaway_ca(tmp_path)

    @asynccontextmanager
    async def start(
        security: Security,
        settings: dict[str, Any],
        *,
        trust: bool = True,
        password: str = PASSWORD,
    ) -> AsyncIterator[tuple[Any, Mailbox]]:
        mailbox = Mailbox()
        with mail_server(
            mailbox, security=security, context=ca.server_context, login=(USER, PASSWORD)
        ) as port:
            async with api_with(
                smtp_host="127.0.0.1",
                smtp_port=port,
                smtp_username=USER,
                smtp_password=password,
                smtp_ca_file=str(ca.ca_file) if trust else "",
                **settings,
            ) as api:
                yield api, mailbox

    return start


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_email_arrives_over_tls_with_login(relay: Relay, mode: str) -> None:
    security, settings = MODES[mode]
    async with relay(security, settings) as (api, mailbox), receiver() as rec:
        key = await smtp_account(api)
        await default_webhook(api, key, rec.url)
        flow_id = await create_flow(api, key, email_flow())
        variables = {"$flow.key.email": "asha@shop.test", "$flow.key.name": "Asha"}
        done = await run_flow(api, key, flow_id, "9876500001", **variables)
        payload = flow_complete(await rec.wait_for(1))
    assert "$flow.key.mail_failed" not in done["variables"], done["steps"]
    [message] = mailbox.messages
    assert message["To"] == "asha@shop.test" and "Hi Asha" in str(message.get_body(("plain",)))
    assert mailbox.logins == [USER]  # the server checked the password
    assert mailbox.secure_sessions == 1  # and the message came encrypted
    [sent] = payload["emailDetails"]
    assert sent["deliveryStatus"] == "SENT"


@pytest.mark.parametrize("mode", ["starttls required", "implicit tls"])
async def test_a_wrong_password_fails_the_email_and_says_so(relay: Relay, mode: str) -> None:
    security, settings = MODES[mode]
    async with relay(security, settings, password="not-the-password") as (api, mailbox):
        key = await smtp_account(api)
        flow_id = await create_flow(api, key, email_flow())
        done = await run_flow(api, key, flow_id, "9876500001", **{"$flow.key.email": "a@shop.test"})
    assert done["status"] == "COMPLETED", done["error_reason"]
    assert done["variables"]["$flow.key.mail_failed"] == "yes"
    [mail] = done["email_details"]
    assert mail["delivery_status"] == "FAILED"
    detail = str(done["steps"][0]["email"]["detail"])
    assert "authentication" in detail.lower() and "535" in detail, detail
    assert "FLOWHOOK_SMTP_PASSWORD" in detail
    assert mailbox.messages == [] and mailbox.logins == []


@pytest.mark.parametrize("mode", ["starttls required", "starttls when offered", "implicit tls"])
async def test_an_untrusted_certificate_fails_the_email(relay: Relay, mode: str) -> None:
    """Without the test CA, the server's certificate is not trusted: nothing is sent, not
    even the password (verification is on by default and cannot be skipped)."""
    security, settings = MODES[mode]
    async with relay(security, settings, trust=False) as (api, mailbox):
        key = await smtp_account(api)
        flow_id = await create_flow(api, key, email_flow())
        done = await run_flow(api, key, flow_id, "9876500001", **{"$flow.key.email": "a@shop.test"})
    assert done["status"] == "COMPLETED", done["error_reason"]
    assert done["email_details"][0]["delivery_status"] == "FAILED"
    detail = str(done["steps"][0]["email"]["detail"])
    assert "CERTIFICATE_VERIFY_FAILED" in detail and "FLOWHOOK_SMTP_CA_FILE" in detail, detail
    assert mailbox.messages == [] and mailbox.logins == []


def test_a_missing_ca_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="FLOWHOOK_SMTP_CA_FILE"):
        Settings(smtp_ca_file=str(tmp_path / "no-such-ca.pem"))


def test_implicit_tls_and_required_starttls_exclude_each_other() -> None:
    with pytest.raises(ValidationError, match="exclude each other"):
        Settings(smtp_tls=True, smtp_starttls=True)
    assert Settings(smtp_tls=True).smtp_starttls is None
