"""Where channel adapters may connect: the webhook guard (``webhooks/guard.py``) applied to
the gateways an account names — the SMSC an SMPP bind connects to, the Kannel or HTTP
gateway URL — so an account cannot make flowhook reach a private, local or reserved
address (unless ``FLOWHOOK_ALLOW_PRIVATE_TARGETS``) or a target the operator's egress
policy (``FLOWHOOK_EGRESS_ALLOW`` / ``FLOWHOOK_EGRESS_DENY``) leaves out.

Checked twice, as webhook targets are: when the settings are saved (:func:`check_targets`,
a 422 with the guard's code, names judged without a look-up) and when connecting
(:func:`resolve_allowed` for SMPP: every address the name resolves to is judged and only
an allowed one is connected to; HTTP gateways go through the process's guarded client).

The SMTP relay is not an account's choice but the operator's (``FLOWHOOK_SMTP_HOST``), and
it is usually on the operator's own network: it is not judged here.
"""

from __future__ import annotations

import asyncio
import socket

from flowhook.channels.config import ChannelSettings
from flowhook.errors import Code, ValidationFailed
from flowhook.settings import Settings
from flowhook.webhooks.guard import (
    BlockedRequest,
    EgressPolicy,
    address_allowed,
    blocked_address,
    check_host,
    check_url,
    egress_denied,
    ip_literal,
)

_REFUSALS = {code.value: code for code in (Code.BLOCKED_ADDRESS, Code.EGRESS_DENIED)}


def policy_of(settings: Settings) -> EgressPolicy:
    return EgressPolicy.parse(settings.egress_allow, settings.egress_deny)


def check_targets(options: ChannelSettings, settings: Settings) -> None:
    """Refuse channel settings whose gateway the guard forbids (``ValidationFailed`` with
    the code ``BLOCKED_ADDRESS`` or ``EGRESS_DENIED`` and the field's path)."""
    allow_private, policy = settings.allow_private_targets, policy_of(settings)
    targets: list[tuple[str, str, bool]] = []  # path, host or URL, is a URL
    if options.smpp is not None:
        targets.append(("$.channels.smpp.host", options.smpp.host, False))
    if options.kannel is not None:
        targets.append(("$.channels.kannel.url", options.kannel.url, True))
    if options.http_sms is not None and "$" not in options.http_sms.request.url:
        targets.append(("$.channels.http_sms.request.url", options.http_sms.request.url, True))
    for path, target, is_url in targets:
        try:
            if is_url:  # plain http is the account's switch, judged when sending
                check_url(target, http_enabled=True, allow_private=allow_private, policy=policy)
            else:
                check_host(target, allow_private=allow_private, policy=policy)
        except BlockedRequest as exc:
            reason = exc.details.get("reason") if isinstance(exc.details, dict) else None
            code = _REFUSALS.get(str(reason))
            if code is None:
                continue  # an unusable URL: its own validation reports it
            raise ValidationFailed(
                exc.message,
                code=code,
                details=[{"path": path, "message": exc.message}],
            ) from None


async def resolve_allowed(host: str, port: int, settings: Settings) -> str:
    """The address to connect to for ``host``: the first it resolves to that the guard
    allows; ``BlockedRequest`` when there is none (or the name itself is refused)."""
    allow_private, policy = settings.allow_private_targets, policy_of(settings)
    check_host(host, allow_private=allow_private, policy=policy)
    if ip_literal(host) is not None:
        return host.strip("[]")
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    safe = False
    for _family, _type, _proto, _name, address in infos:
        ip = ip_literal(str(address[0]))
        if ip is None or not address_allowed(ip, allow_private=allow_private):
            continue
        safe = True
        if policy.address_allowed(ip, name=host):
            return str(address[0])
    raise egress_denied(host) if safe else blocked_address(host)
