"""The local SMTP server of the e-mail tests: aiosmtpd on 127.0.0.1 that keeps every
message it receives (or refuses a recipient), in plain SMTP, with STARTTLS or with
implicit TLS, and optionally checking a user and password.

The TLS certificate is made for the test by :func:`throwaway_ca` (a CA and a server
certificate for 127.0.0.1, written to the test's temporary directory): the adapter
verifies the server as it would a real relay, trusting that CA through
``FLOWHOOK_SMTP_CA_FILE``, so nothing in the repository holds a key.
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support.app import free_socket

Security = Literal["plain", "starttls", "tls"]


class Mailbox:
    """An aiosmtpd handler that keeps every message, or refuses a recipient."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.refuse: set[str] = set()
        self.arrived = asyncio.Event()
        self.bounce_port = 0  # flowhook's inbound SMTP endpoint for bounces
        self.logins: list[str] = []  # users that authenticated, in order
        self.secure_sessions = 0  # messages that came over TLS

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append(envelope)
        if session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None:
            self.secure_sessions += 1
        self.arrived.set()
        return "250 2.0.0 queued as 4711"


@dataclass(frozen=True)
class ThrowawayCA:
    """A CA that signed the test server's certificate for 127.0.0.1."""

    ca_file: Path  # PEM of the CA certificate: what FLOWHOOK_SMTP_CA_FILE names
    server_context: ssl.SSLContext  # the server's certificate and key


def throwaway_ca(directory: Path) -> ThrowawayCA:
    """A fresh CA and a server certificate for 127.0.0.1 signed by it (P-256, one day)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flowhook test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "smtp-test-ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file = directory / "smtp-test-server.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = directory / "smtp-test-server.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return ThrowawayCA(ca_file=ca_file, server_context=context)


class Credentials:
    """An aiosmtpd authenticator that accepts one user and password (PLAIN or LOGIN)."""

    def __init__(self, user: str, password: str, mailbox: Mailbox) -> None:
        self.user, self.password, self.mailbox = user, password, mailbox

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login == self.user.encode() and auth_data.password == self.password.encode()
        if ok:
            self.mailbox.logins.append(self.user)
        return AuthResult(success=ok, handled=False)


@contextmanager
def mail_server(
    mailbox: Mailbox,
    *,
    security: Security = "plain",
    context: ssl.SSLContext | None = None,
    login: tuple[str, str] | None = None,
) -> Iterator[int]:
    """A running server on 127.0.0.1; its port. ``starttls`` offers and requires STARTTLS
    before anything else, ``tls`` speaks TLS from the first byte (``context`` is the
    server's certificate); with ``login`` every message needs that user and password."""
    with free_socket() as sock:
        port = sock.getsockname()[1]
    options: dict[str, Any] = {}
    if security != "plain":
        assert context is not None, "TLS needs the server's certificate"
    if security == "starttls":
        options.update(tls_context=context, require_starttls=True)
    elif security == "tls":
        options.update(ssl_context=context)
    if login is not None:
        options.update(
            authenticator=Credentials(*login, mailbox),
            auth_required=True,
            # over implicit TLS the whole connection is encrypted, but aiosmtpd only
            # counts a STARTTLS upgrade as TLS
            auth_require_tls=security == "starttls",
        )
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
