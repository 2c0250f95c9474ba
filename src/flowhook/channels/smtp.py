"""E-mail over SMTP (``aiosmtplib``): the server is the installation's relay, configured in
``Settings`` (``FLOWHOOK_SMTP_*``: host, port, STARTTLS or implicit TLS, user and password,
CA file),
so no SMTP password is stored per account; an account chooses the adapter ``smtp`` and
lists its verified sender addresses (``email_senders``), the only ones it may send from.

The message has a text part and, when the flow gave HTML, an HTML alternative. Its
``deliveryStatus`` is the server's answer: ``SENT`` when it accepted the message for every
recipient, ``REJECTED`` when it refused it (a 5xx), ``FAILED`` when it could not be reached,
answered 4xx, refused the installation's user and password, or showed a certificate that
does not verify (the detail says which).

The relay's certificate is always verified, name included, against the system's CAs and
``FLOWHOOK_SMTP_CA_FILE`` (a private CA); there is no switch to skip it, so a password never
goes to a server that merely claims the relay's name.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import aiosmtplib

from flowhook.channels.adapter import EmailAdapter, Handed, OutgoingMessage
from flowhook.channels.bounces import message_id_header
from flowhook.channels.registry import register


@register("email", "smtp")
class SmtpEmail(EmailAdapter):
    name = "smtp"

    async def send(self, message: OutgoingMessage) -> Handed:
        settings = self.context.settings
        if not settings.smtp_host:
            return Handed("FAILED", detail="no SMTP server configured (FLOWHOOK_SMTP_HOST)")
        if message.sender.lower() not in {s.lower() for s in self.context.options.email_senders}:
            return Handed("REJECTED", detail=f"{message.sender} is not a verified sender")
        mail = EmailMessage()
        mail["From"] = message.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Message-ID"] = message_id_header(message.id)  # how its bounce finds it
        mail.set_content(message.text)
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html")
        try:
            refused, answer = await aiosmtplib.send(
                mail,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                use_tls=settings.smtp_tls,
                start_tls=False if settings.smtp_tls else settings.smtp_starttls,
                cert_bundle=settings.smtp_ca_file or None,  # beside the system's CAs
                timeout=settings.smtp_timeout_s,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            # the relay refused the installation's credentials, not this message: a 535
            # is no verdict on the recipient, and the same e-mail goes once it is fixed
            detail = (
                f"SMTP authentication refused: {exc.code} {exc.message} "
                "(check FLOWHOOK_SMTP_USERNAME / FLOWHOOK_SMTP_PASSWORD)"
            )
            return Handed("FAILED", detail=detail[:500])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            return Handed("REJECTED", detail=detail[:500])
        except aiosmtplib.SMTPResponseException as exc:
            status = "REJECTED" if 500 <= exc.code < 600 else "FAILED"
            return Handed(status, detail=f"{exc.code} {exc.message}"[:500])
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            detail = f"{type(exc).__name__}: {exc}"
            if _untrusted(exc):
                hint = (
                    "the relay's certificate does not verify (a private CA: FLOWHOOK_SMTP_CA_FILE)"
                )
                detail = f"{hint}: {detail}"
            return Handed("FAILED", detail=detail[:500])
        if refused:
            detail = "; ".join(f"{to}: {r.code} {r.message}" for to, r in refused.items())
            return Handed("REJECTED", detail=detail[:500])
        return Handed("SENT", external_id=mail["Message-ID"], detail=answer[:500])


def _untrusted(exc: BaseException) -> bool:
    """Whether the TLS handshake failed on the relay's certificate (aiosmtplib raises the
    ``ssl`` error itself after STARTTLS, wrapped in ``SMTPConnectError`` on implicit TLS)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__
    return False
