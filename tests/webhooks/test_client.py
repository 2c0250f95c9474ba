"""HttpClient against real aiohttp servers on 127.0.0.1: outcomes become HttpResults, the
guard is applied before connecting, on DNS answers and on every redirect hop."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from flowhook.domain.message import ErrorReason, OutgoingRequest
from flowhook.settings import Settings
from flowhook.webhooks.client import HttpClient


class MapResolver(AbstractResolver):
    """Resolves made-up names (``evil.test``) from a table: no real DNS in tests."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.table:
            raise OSError(socket.EAI_NONAME, f"{host} not found")
        return [
            ResolveResult(
                hostname=host,
                host=self.table[host],
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=0,
            )
        ]

    async def close(self) -> None:
        return None


@dataclass
class Receiver:
    """A local server that records what reached it."""

    port: int = 0
    hits: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def record(request: web.Request) -> None:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        rec.hits.append(
            {
                "method": request.method,
                "path": request.path,
                "headers": dict(request.headers),
                "body": await request.read(),
                "peer": peer,
            }
        )

    async def echo(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(body=b"hello", headers={"X-Answer": "42"})

    async def status(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def slow(request: web.Request) -> web.Response:
        await record(request)
        await asyncio.sleep(3)
        return web.Response(text="late")

    async def big(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(body=b"x" * int(request.query["n"]))

    async def streamed(request: web.Request) -> web.StreamResponse:
        await record(request)
        resp = web.StreamResponse()  # chunked: no Content-Length to trust
        await resp.prepare(request)
        for _ in range(int(request.query["chunks"])):
            await resp.write(b"y" * 100)
        await resp.write_eof()
        return resp

    async def redirect(request: web.Request) -> web.Response:
        await record(request)
        code = int(request.query.get("code", "302"))
        return web.Response(status=code, headers={"Location": request.query["to"]})

    async def loop(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=302, headers={"Location": "/loop"})

    async def cookie(request: web.Request) -> web.Response:
        await record(request)
        resp = web.Response(text="set")
        resp.set_cookie("session", "secret")
        return resp

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_route("*", "/status/{code}", status)
    app.router.add_get("/slow", slow)
    app.router.add_get("/big", big)
    app.router.add_get("/streamed", streamed)
    app.router.add_route("*", "/redirect", redirect)
    app.router.add_get("/loop", loop)
    app.router.add_get("/cookie", cookie)
    runner = web.AppRunner(app, handler_cancellation=True)  # /slow ends with its client
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.port = runner.addresses[0][1]
    yield rec
    await runner.cleanup()


def local_settings(**overrides: Any) -> Settings:
    return Settings(allow_private_targets=True, **overrides)


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    http = HttpClient(local_settings())
    yield http
    await http.close()


async def send(http: HttpClient, url: str, **kwargs: Any) -> Any:
    method = kwargs.pop("method", "GET")
    body = kwargs.pop("body", None)
    timeout_s = kwargs.pop("timeout_s", 10.0)
    kwargs.setdefault("http_enabled", True)
    req = OutgoingRequest(method=method, url=url, body=body, timeout_s=timeout_s)
    return await http.send(req, **kwargs)


# success and status classes ---------------------------------------------------------------


async def test_a_2xx_response_is_ok_with_body_headers_and_duration(
    client: HttpClient, receiver: Receiver
) -> None:
    req = OutgoingRequest(
        "POST", receiver.url("/echo"), headers={"X-Custom": "yes"}, body=b'{"a":1}'
    )
    started = time.perf_counter()  # the client's clock
    result = await client.send(req, http_enabled=True)
    around = time.perf_counter() - started
    assert result.ok
    assert (result.status, result.body, result.error_reason) == (200, b"hello", None)
    assert result.headers["X-Answer"] == "42"
    assert 0 < result.duration_s <= around  # seconds, of this call: no guess at the speed
    hit = receiver.hits[0]
    assert (hit["method"], hit["body"], hit["headers"]["X-Custom"]) == ("POST", b'{"a":1}', "yes")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (404, ErrorReason.CLIENT_ERROR),
        (401, ErrorReason.CLIENT_ERROR),
        (500, ErrorReason.SERVER_ERROR),
        (503, ErrorReason.SERVER_ERROR),
        (304, ErrorReason.REDIRECTION),
    ],
)
async def test_non_2xx_status_sets_the_reason_from_its_class(
    client: HttpClient, receiver: Receiver, code: int, reason: ErrorReason
) -> None:
    result = await send(client, receiver.url(f"/status/{code}"))
    assert (result.status, result.error_reason, result.ok) == (code, reason, False)


async def test_requests_share_one_session_and_keep_alive_connection(
    client: HttpClient, receiver: Receiver
) -> None:
    for _ in range(3):
        assert (await send(client, receiver.url("/echo"))).ok
    assert len({hit["peer"] for hit in receiver.hits}) == 1


async def test_cookies_set_by_one_call_are_not_sent_by_the_next(
    client: HttpClient, receiver: Receiver
) -> None:
    await send(client, receiver.url("/cookie"))
    await send(client, receiver.url("/echo"))
    assert "Cookie" not in receiver.hits[1]["headers"]


async def test_the_client_works_again_after_close(receiver: Receiver) -> None:
    http = HttpClient(local_settings())
    assert (await send(http, receiver.url("/echo"))).ok
    await http.close()
    assert (await send(http, receiver.url("/echo"))).ok
    await http.close()


# failures without a response -------------------------------------------------------------


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_a_slow_receiver_times_out(client: HttpClient, receiver: Receiver) -> None:
    result = await send(client, receiver.url("/slow"), timeout_s=1.0)
    # TIMEOUT, not the answer the receiver gives after 3 s, and not before the timeout
    assert (result.status, result.error_reason) == (None, ErrorReason.TIMEOUT)
    assert result.duration_s >= 0.9


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_the_timeout_is_capped_by_settings(receiver: Receiver) -> None:
    http = HttpClient(local_settings(webhook_max_timeout_s=1.0))
    try:
        result = await send(http, receiver.url("/slow"), timeout_s=30.0)
    finally:
        await http.close()
    # capped at 1 s: the receiver's answer after 3 s never came in
    assert result.error_reason is ErrorReason.TIMEOUT
    assert result.duration_s >= 0.9


async def test_timeouts_leave_the_calling_task_able_to_call_again(
    client: HttpClient, receiver: Receiver
) -> None:
    for _ in range(2):  # one task, as a worker's: each timeout is its own, and only that
        result = await send(client, receiver.url("/slow"), timeout_s=0.2)
        assert (result.status, result.error_reason) == (None, ErrorReason.TIMEOUT)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    assert (await send(client, receiver.url("/echo"))).ok


async def test_cancelling_a_call_from_outside_is_not_a_timeout(
    client: HttpClient, receiver: Receiver
) -> None:
    call = asyncio.create_task(send(client, receiver.url("/slow"), timeout_s=10.0))
    while not receiver.hits:  # the request reached the receiver: the call is waiting
        await asyncio.sleep(0.01)
    call.cancel()  # e.g. a worker shutting down
    with pytest.raises(asyncio.CancelledError):
        await call


async def test_a_refused_port_is_a_connection_error(client: HttpClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await send(client, f"http://127.0.0.1:{port}/")
    assert (result.status, result.error_reason) == (None, ErrorReason.CONNECTION_ERROR)
    assert result.error_message


async def test_an_unknown_name_is_a_connection_error(receiver: Receiver) -> None:
    http = HttpClient(local_settings(), resolver=MapResolver({}))
    try:
        result = await send(http, receiver.url("/echo", host="missing.test"))
    finally:
        await http.close()
    assert result.error_reason is ErrorReason.CONNECTION_ERROR


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "http:///nohost", "not a url"])
async def test_urls_that_cannot_be_called_are_invalid(client: HttpClient, url: str) -> None:
    assert (await send(client, url)).error_reason is ErrorReason.INVALID_URL


# response size ---------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_truncated(receiver: Receiver) -> None:
    http = HttpClient(local_settings(response_max_bytes=100))
    try:
        over = await send(http, receiver.url("/big?n=1000"))
        exact = await send(http, receiver.url("/big?n=100"))
        streamed = await send(http, receiver.url("/streamed?chunks=5"))
        after = await send(http, receiver.url("/echo"))
    finally:
        await http.close()
    assert (over.status, over.error_reason, over.truncated) == (
        200,
        ErrorReason.RESPONSE_TOO_LARGE,
        True,
    )
    assert over.body == b"x" * 100
    assert (exact.ok, exact.truncated, len(exact.body)) == (True, False, 100)
    assert (streamed.error_reason, streamed.truncated, streamed.body) == (
        ErrorReason.RESPONSE_TOO_LARGE,
        True,
        b"y" * 100,
    )
    assert after.ok  # the half-read connection was dropped, not reused


# HTTPS-only and blocked addresses --------------------------------------------------------


async def test_plain_http_is_refused_unless_enabled_and_nothing_is_sent(
    client: HttpClient, receiver: Receiver
) -> None:
    result = await send(client, receiver.url("/echo"), http_enabled=False)
    assert (result.status, result.error_reason) == (None, ErrorReason.HTTP_DISABLED)
    assert receiver.hits == []


async def test_a_url_called_before_is_still_refused_for_an_account_without_http(
    client: HttpClient, receiver: Receiver
) -> None:
    url = receiver.url("/echo")
    assert (await send(client, url, http_enabled=True)).ok  # one client, two accounts
    for _ in range(2):
        result = await send(client, url, http_enabled=False)
        assert (result.status, result.error_reason) == (None, ErrorReason.HTTP_DISABLED)
    assert (await send(client, url, http_enabled=True)).ok
    assert len(receiver.hits) == 2


async def test_loopback_is_blocked_unless_private_targets_are_allowed(
    receiver: Receiver,
) -> None:
    http = HttpClient(Settings(allow_private_targets=False))
    try:
        result = await send(http, receiver.url("/echo"))
    finally:
        await http.close()
    assert (result.status, result.error_reason) == (None, ErrorReason.BLOCKED_ADDRESS)
    assert receiver.hits == []


async def test_a_name_that_resolves_to_loopback_is_blocked(receiver: Receiver) -> None:
    http = HttpClient(
        Settings(allow_private_targets=False), resolver=MapResolver({"evil.test": "127.0.0.1"})
    )
    try:
        result = await send(http, receiver.url("/echo", host="evil.test"))
    finally:
        await http.close()
    assert (result.status, result.error_reason) == (None, ErrorReason.BLOCKED_ADDRESS)
    assert "evil.test" in (result.error_message or "")
    assert receiver.hits == []


async def test_an_injected_resolver_reaches_the_receiver_when_private_is_allowed(
    receiver: Receiver,
) -> None:
    http = HttpClient(local_settings(), resolver=MapResolver({"api.test": "127.0.0.1"}))
    try:
        result = await send(http, receiver.url("/echo", host="api.test"))
    finally:
        await http.close()
    assert result.ok
    assert receiver.hits[0]["headers"]["Host"] == f"api.test:{receiver.port}"


# redirects --------------------------------------------------------------------------------


async def test_a_redirect_is_not_followed_by_default(
    client: HttpClient, receiver: Receiver
) -> None:
    result = await send(client, receiver.url("/redirect?to=/echo"))
    assert (result.status, result.error_reason) == (302, ErrorReason.REDIRECTION)
    assert [hit["path"] for hit in receiver.hits] == ["/redirect"]


async def test_redirects_are_followed_when_asked(client: HttpClient, receiver: Receiver) -> None:
    result = await send(client, receiver.url("/redirect?to=/echo"), follow_redirects=True)
    assert (result.status, result.body) == (200, b"hello")
    assert [hit["path"] for hit in receiver.hits] == ["/redirect", "/echo"]


async def test_a_303_turns_a_post_into_a_get_and_a_307_keeps_it(
    client: HttpClient, receiver: Receiver
) -> None:
    await send(
        client,
        receiver.url("/redirect?code=303&to=/echo"),
        method="POST",
        body=b"payload",
        follow_redirects=True,
    )
    await send(
        client,
        receiver.url("/redirect?code=307&to=/echo"),
        method="POST",
        body=b"payload",
        follow_redirects=True,
    )
    after_303, after_307 = receiver.hits[1], receiver.hits[3]
    assert (after_303["method"], after_303["body"]) == ("GET", b"")
    assert (after_307["method"], after_307["body"]) == ("POST", b"payload")


async def test_at_most_five_redirects_are_followed(client: HttpClient, receiver: Receiver) -> None:
    result = await send(client, receiver.url("/loop"), follow_redirects=True)
    assert (result.status, result.error_reason) == (302, ErrorReason.REDIRECTION)
    assert len(receiver.hits) == 6


async def test_a_redirect_to_a_blocked_address_is_refused(
    client: HttpClient, receiver: Receiver
) -> None:
    target = "http://169.254.169.254/latest/meta-data/"
    result = await send(client, receiver.url(f"/redirect?to={target}"), follow_redirects=True)
    assert (result.status, result.error_reason) == (None, ErrorReason.BLOCKED_ADDRESS)


async def test_a_redirect_to_a_name_resolving_to_a_blocked_address_is_refused(
    receiver: Receiver,
) -> None:
    http = HttpClient(
        local_settings(),
        resolver=MapResolver({"api.test": "127.0.0.1", "metadata.test": "169.254.169.254"}),
    )
    target = "http://metadata.test/latest/meta-data/"
    try:
        result = await send(
            http, receiver.url(f"/redirect?to={target}", host="api.test"), follow_redirects=True
        )
    finally:
        await http.close()
    assert (result.status, result.error_reason) == (None, ErrorReason.BLOCKED_ADDRESS)
    assert len(receiver.hits) == 1


async def test_a_redirect_to_another_host_drops_credentials(receiver: Receiver) -> None:
    http = HttpClient(local_settings(), resolver=MapResolver({"other.test": "127.0.0.1"}))
    target = receiver.url("/echo", host="other.test")
    headers = {"Authorization": "Basic eDp5", "X-Api-Key": "k", "X-Tenant": "t"}
    req = OutgoingRequest("GET", receiver.url(f"/redirect?to={target}"), headers=headers)
    try:
        result = await http.send(req, http_enabled=True, follow_redirects=True)
    finally:
        await http.close()
    assert result.ok
    assert receiver.hits[0]["headers"]["Authorization"] == "Basic eDp5"
    assert receiver.hits[0]["headers"]["X-Api-Key"] == "k"
    # every credential header (credentials.is_secret_name) stays behind; others follow
    assert "Authorization" not in receiver.hits[1]["headers"]
    assert "X-Api-Key" not in receiver.hits[1]["headers"]
    assert receiver.hits[1]["headers"]["X-Tenant"] == "t"
