"""The OpenAPI document tells the truth: schemathesis sends generated requests (schema
examples, boundary and negative cases, random data) to every documented operation of a real
server and runs all its checks on each answer — status codes and bodies as documented, 405
with ``Allow``, schema-valid input accepted, schema-invalid input refused, authentication
not ignored.

The server runs in a thread (schemathesis' client is synchronous) on SQLite with an
in-process worker, so triggered flows really run. Generated input names arbitrary hosts
(webhook URLs, flows with webhook widgets), so while the run is on a fence refuses every
connection and name lookup that would leave 127.0.0.1 (see :func:`_fence`); the server
itself refuses private targets (``allow_private_targets`` off), so what it is asked to call
fails as a user would see it (a connection error) without a packet leaving the machine.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig

from flowhook.api.app import create_app
from flowhook.settings import Settings
from support.app import Api, running_api, settings_for

OPERATOR_TOKEN = "operator-secret"

MAX_EXAMPLES = 10
"""Fuzzing cases per operation (the examples and coverage phases add their own): with this,
the run takes about a minute on two cores."""

# --- the egress fence -------------------------------------------------------------------

_LOOPBACK = frozenset({"127.0.0.1", "::1"})
_fence_on = threading.Event()


def _fence(event: str, args: tuple[Any, ...]) -> None:
    """An audit hook: while the run is on, no socket of this process may connect or send
    to anything but 127.0.0.1/::1, and no host name may be looked up (a lookup could leave
    the machine). Audit hooks cannot be removed, hence the switch."""
    if not _fence_on.is_set():
        return
    if event in ("socket.connect", "socket.sendto"):
        sock, address = args[0], args[-1]
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOOPBACK:
            raise PermissionError(errno.EACCES, f"test fence: no connection to {address!r}")
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
        host = args[0].decode() if isinstance(args[0], bytes) else args[0]
        if host is not None and host not in _LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, f"test fence: no lookup of {host!r}")


sys.addaudithook(_fence)


def test_the_fence_refuses_what_would_leave_loopback() -> None:
    # targets that stay on this machine even if the fence failed
    listener = socket.create_server(("127.0.0.1", 0))
    _fence_on.set()
    try:
        with socket.socket() as sock, pytest.raises(PermissionError, match="test fence"):
            sock.connect(("127.0.0.2", listener.getsockname()[1]))
        with pytest.raises(socket.gaierror, match="test fence"):
            socket.getaddrinfo("localhost", 80)
        with socket.create_connection(listener.getsockname(), timeout=5):
            pass  # 127.0.0.1 stays reachable
    finally:
        _fence_on.clear()
        listener.close()


# --- the server ---------------------------------------------------------------------------


class ServerThread:
    """``running_api`` in a thread of its own, with an account created in it."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.settings = settings_for(
            database_url,
            data_dir,
            allow_private_targets=False,
            operator_token=OPERATOR_TOKEN,
        )
        self.ready = threading.Event()
        self.api: Api | None = None
        self.key = ""
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="flowhook-server", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start() or stop()
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        # the fence sees asyncio's Python-level sockets; uvloop's would bypass it
        assert type(asyncio.get_running_loop()).__module__.startswith("asyncio")
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with running_api(self.settings) as api:
            self.api = api
            _, self.key = await api.account("schemathesis")
            self.ready.set()
            await self._stop.wait()

    def start(self) -> Api:
        self._thread.start()
        self.ready.wait()
        if self.error is not None:
            raise self.error
        assert self.api is not None
        return self.api

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        if self.error is not None:
            raise self.error


def _document() -> dict[str, Any]:
    """The OpenAPI document as the application builds it (building the application starts
    nothing: the runtime starts with the server). The server fixture checks that it is the
    one served at ``/openapi.json``."""
    return create_app(Settings(database_url="sqlite://", data_dir=Path("unused"))).openapi()


# Input rules JSON Schema cannot state. For these operations a schema-valid request may
# still be refused with a documented 4xx (the answer names the rule), so the check that
# schema-valid data is accepted is off; every other check stays on.
RULES_BEYOND_JSON_SCHEMA = {
    # a flow's widgets refer to each other and each widget type has its own configuration
    "POST /v1/flows": "widget references, per-type widget configuration",
    "PUT /v1/flows/{flow_id}": "widget references, per-type widget configuration",
    # a body only with a body type that takes one, no Authorization header with basic
    # auth, header names unique regardless of case, a URL yarl can parse
    "POST /v1/webhooks": "rules between the fields of a webhook request",
    "PUT /v1/webhooks/{webhook_id}": "rules between the fields of a webhook request",
    "POST /v1/webhooks/check": "rules between the fields of a webhook request",
    # an HTTP SMS gateway's request is a webhook request, with the same rules (and a
    # gateway's address must be one the egress guard allows)
    "PUT /v1/account/channels": "rules between the fields of a webhook request",
    # each internal method has its own rules about the variables it is given
    "POST /centraloutboundwebhook-v1/{stage}/": "the method's own rules on its variables",
    # a CLI must be a valid phone number of the account's region; names must be printable
    "POST /v1/agents": "phone numbers valid for the region, printable names",
    "PATCH /v1/agents/{agent_id}": "printable names",
    # the simulator's numbers must be valid phone numbers of the account's region too
    "POST /v1/sim/calls": "phone numbers valid for the region",
    "POST /v1/sim/sms": "phone numbers valid for the region",
    # a report names Kannel's type (1, 2, 4, 8, 16) or a known status, one of them
    "GET /sms/reports/{message_id}": "a known report type or status",
    "POST /sms/reports/{message_id}": "a known report type or status",
    # the region is one phonenumbers supports, in any case; the time zone one the server's
    # time zone database knows
    "PUT /v1/account/settings": "supported regions, known time zones",
    # expires_at must be in the future: a rule about the clock, not the data
    "POST /v1/short-urls": "expiry in the future, a URL urlsplit can parse",
    # the original product's body takes fields it ignores (any JSON): a NUL in them, at any
    # depth, is refused all the same (NUL_NOT_ALLOWED), which JSON Schema cannot say of
    # values it leaves free
    "POST /UrlShortner/phonon/shortUrl": "no NUL at any depth of the fields it ignores",
    # a time (ISO 8601 or epoch seconds) must fall in years 1 to 9999; a contact must be a
    # phone number of the account's region
    "GET /v1/executions": "times in years 1 to 9999, phone numbers valid for the region",
    "GET /v1/deliveries": "times in years 1 to 9999",
    "POST /v1/webhooks/{webhook_id}/recover": "times in years 1 to 9999, until after since",
    "POST /v1/executions/{uuid}/recover": "times in years 1 to 9999, until after since",
}

# A cursor is opaque: one this API did not give is refused with 400 INVALID_CURSOR, so a
# schema-valid random cursor is expected to get that 400.
CURSOR_LISTS = ["GET /v1/executions", "GET /v1/deliveries", "GET /v1/short-urls"]
ACCEPTED_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,  # the same cases on every run: CI is reproducible
            "database": "none",
        },
        "operations": [
            {
                "include-name": list(RULES_BEYOND_JSON_SCHEMA),
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
            {
                "include-name": CURSOR_LISTS,
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*ACCEPTED_STATUSES, "400"]}
                },
            },
        ],
    }
)
# Loaded at import (one test per operation); ``schemathesis.pytest.from_fixture`` would load
# it from the running server, but it fails on pytest 9 (``Function`` has no ``_nodeid``).
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


class Credentials:
    """What each operation documents as its credentials: the account's API key or the
    operator token, except in the cases schemathesis makes without them (or with bad
    ones) on purpose. (Its own auth providers are applied when the cases are built, at
    import, before the account exists.)"""

    key = ""  # the account's, once the server runs
    accepted = 0  # calls that got past authentication with them

    @classmethod
    def header(cls, case: Any) -> str | None:
        if case.operation.schema.is_security_param_negated(case):
            return None
        needs = case.operation.definition.raw.get("security", [])
        schemes = {name for need in needs for name in need}
        if not schemes:
            return None
        return f"Bearer {OPERATOR_TOKEN if 'operatorToken' in schemes else cls.key}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    data_dir = tmp_path_factory.mktemp("schemathesis")
    running = ServerThread(f"sqlite:///{data_dir}/flowhook.db", data_dir)
    api = running.start()
    try:
        served = requests.get(f"{api.base_url}/openapi.json", timeout=10).json()
        assert served == schema.raw_schema, "the served OpenAPI document is not the one tested"
        Credentials.key = running.key
        _fence_on.set()
        yield running
        # the run did not only see 401s (which every check would accept)
        assert Credentials.accepted > 0, "no call got past authentication"
    finally:
        _fence_on.clear()
        running.stop()


_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_FRAMING = frozenset({"content-length", "transfer-encoding", "host", "connection"})


def sendable(headers: dict[str, Any] | None) -> dict[str, Any]:
    """The generated headers an HTTP client can send: a name that is no RFC 9110 token, or
    a framing header with a made-up value (``Content-Length: *^<``), is refused by the HTTP
    server itself (uvicorn's plain-text 400) before any route, so it says nothing about the
    API's contract; the client sets the framing headers."""
    return {
        name: value
        for name, value in (headers or {}).items()
        if _TOKEN.match(name) and name.lower() not in _FRAMING
    }


@pytest.mark.slow
@schema.parametrize()
def test_every_operation_answers_as_documented(case: Any, server: ServerThread) -> None:
    assert server.api is not None
    case.headers = sendable(case.headers)
    credentials = Credentials.header(case)
    if credentials is not None:
        case.headers = {**(case.headers or {}), "Authorization": credentials}
    response = case.call_and_validate(base_url=server.api.base_url)
    if credentials is not None:
        assert response.status_code != 401, "the documented credentials were refused"
        Credentials.accepted += 1
