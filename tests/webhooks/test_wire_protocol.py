"""HttpClient's HTTP/1.1 on the wire (``webhooks/wire.py``) against raw servers on 127.0.0.1
that answer the way real ones do at their edges: chunked bodies, bodies ended by closing,
HEAD and 204, compressed bodies, connections closed while idle or mid-answer, the per-host
connection cap, TLS, and requests that would inject a header."""

from __future__ import annotations

import asyncio
import base64
import gzip
import re
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from flowhook.domain.message import ErrorReason, HttpResult, OutgoingRequest
from flowhook.settings import Settings
from flowhook.webhooks import wire
from flowhook.webhooks.client import HttpClient
from support.mailserver import throwaway_ca

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter


@dataclass
class Server:
    """A raw server: ``handler(server, reader, writer)`` serves each connection."""

    port: int = 0
    scheme: str = "http"
    connections: int = 0  # accepted so far
    open_now: int = 0
    most_open: int = 0
    requests: list[bytes] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # a connection ended
    state: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"


Handler = Callable[[Server, Reader, Writer], Awaitable[None]]


async def read_request(server: Server, reader: Reader) -> bytes | None:
    """One request (head and Content-Length body), recorded; None at the end of the
    connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    body = await reader.readexactly(int(length.group(1))) if length else b""
    server.requests.append(head + body)
    return head + body


@asynccontextmanager
async def raw_server(handler: Handler, **tls: Any) -> AsyncIterator[Server]:
    server = Server(scheme="https" if tls else "http")

    async def serve(reader: Reader, writer: Writer) -> None:
        server.connections += 1
        server.open_now += 1
        server.most_open = max(server.most_open, server.open_now)
        try:
            await handler(server, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            server.open_now -= 1
            writer.close()
            server.closed.set()

    listening = await asyncio.start_server(serve, "127.0.0.1", 0, **tls)
    server.port = listening.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listening.close()


def answer(body: bytes = b"ok", head: str = "", status: str = "200 OK") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


async def keep_answering(server: Server, reader: Reader, writer: Writer) -> None:
    """Answers every request on the connection with ``server.state["reply"]``."""
    while await read_request(server, reader) is not None:
        writer.write(server.state.get("reply", answer()))
        await writer.drain()


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    http = HttpClient(Settings(allow_private_targets=True))
    yield http
    await http.close()


async def call(
    http: HttpClient, url: str, method: str = "GET", body: bytes | None = None, **headers: str
) -> HttpResult:
    request = OutgoingRequest(method, url, dict(headers), body, timeout_s=10.0)
    return await http.send(request, http_enabled=True)


# bodies -----------------------------------------------------------------------------------


async def test_a_chunked_body_is_read_whole_and_the_connection_reused(client: HttpClient) -> None:
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"
    )
    async with raw_server(keep_answering) as server:
        server.state["reply"] = reply
        first = await call(client, server.url())
        second = await call(client, server.url())
    assert (first.status, first.body, second.body) == (200, b"hello world", b"hello world")
    assert server.connections == 1


async def test_a_body_ended_by_closing_the_connection_is_read_whole(client: HttpClient) -> None:
    async def until_close(server: Server, reader: Reader, writer: Writer) -> None:
        await read_request(server, reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ")
        await writer.drain()
        writer.write(b"part two")

    async with raw_server(until_close) as server:
        results = [await call(client, server.url()) for _ in range(2)]
    assert [(r.status, r.body) for r in results] == [(200, b"part one, part two")] * 2
    assert server.connections == 2


async def test_head_and_204_answers_have_no_body(client: HttpClient) -> None:
    async def head_and_204(server: Server, reader: Reader, writer: Writer) -> None:
        while (request := await read_request(server, reader)) is not None:
            if request.startswith(b"HEAD"):  # the length of the body a GET would get
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()

    async with raw_server(head_and_204) as server:
        empty = [await call(client, server.url(), method="DELETE") for _ in range(2)]
        assert server.connections == 1  # a 204 ends at its headers: the connection is reused
        head = await call(client, server.url(), method="HEAD")
        after = await call(client, server.url(), method="DELETE")
    assert [(r.status, r.body, r.ok) for r in empty] == [(204, b"", True)] * 2
    assert (head.status, head.headers["Content-Length"], head.body) == (200, "5", b"")
    assert after.status == 204


async def test_an_interim_100_continue_is_skipped(client: HttpClient) -> None:
    async with raw_server(keep_answering) as server:
        server.state["reply"] = b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"final")
        result = await call(client, server.url(), method="POST", body=b"x")
    assert (result.status, result.body) == (200, b"final")


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw deflate
    ],
)
async def test_compressed_bodies_are_decompressed(
    client: HttpClient, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    text = b'{"status": "ok", "padding": "' + b"ab" * 500 + b'"}'
    async with raw_server(keep_answering) as server:
        server.state["reply"] = answer(compress(text), f"Content-Encoding: {encoding}\r\n")
        result = await call(client, server.url())
    assert (result.status, result.body) == (200, text)
    assert b"\r\nAccept-Encoding: gzip, deflate\r\n" in server.requests[0]


async def test_a_compressed_body_is_capped_after_decompression() -> None:
    http = HttpClient(Settings(allow_private_targets=True, response_max_bytes=100))
    bomb = gzip.compress(b"0" * 5_000_000)  # 5 MB from a few kB
    try:
        async with raw_server(keep_answering) as server:
            server.state["reply"] = answer(bomb, "Content-Encoding: gzip\r\n")
            result = await call(http, server.url())
            server.state["reply"] = answer(b"small")
            after = await call(http, server.url())
    finally:
        await http.close()
    assert (result.status, result.error_reason, result.truncated) == (
        200,
        ErrorReason.RESPONSE_TOO_LARGE,
        True,
    )
    assert result.body == b"0" * 100
    assert after.body == b"small"
    assert server.connections == 2  # the half-read connection was dropped


async def test_a_corrupt_compressed_body_is_a_malformed_response(client: HttpClient) -> None:
    async with raw_server(keep_answering) as server:
        server.state["reply"] = answer(b"not gzip at all", "Content-Encoding: gzip\r\n")
        result = await call(client, server.url())
    assert (result.status, result.error_reason) == (None, ErrorReason.INVALID_RESPONSE)
    assert (result.error_message or "").startswith("malformed response: ")


async def test_repeated_headers_keep_their_first_value_under_the_usual_name(
    client: HttpClient,
) -> None:
    async with raw_server(keep_answering) as server:
        server.state["reply"] = answer(
            b"{}", "content-type: application/json\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n"
        )
        result = await call(client, server.url())
    assert result.headers["Content-Type"] == "application/json"
    assert result.headers["Set-Cookie"] == "a=1"
    assert "set-cookie" not in result.headers


# what is sent -----------------------------------------------------------------------------


async def test_the_request_carries_host_agent_and_lengths(client: HttpClient) -> None:
    async with raw_server(keep_answering) as server:
        await call(client, server.url("/a?b=1"), method="POST", body=b"{}", X_Custom="yes")
        await call(client, server.url(), method="PUT")
        await call(client, server.url(), method="GET")
    posted, put, got = (request.decode() for request in server.requests)
    assert posted.startswith("POST /a?b=1 HTTP/1.1\r\n")
    assert f"\r\nHost: 127.0.0.1:{server.port}\r\n" in posted
    assert "\r\nUser-Agent: flowhook\r\n" in posted
    assert "\r\nX_Custom: yes\r\n" in posted
    assert "\r\nContent-Length: 2\r\n" in posted and posted.endswith("\r\n\r\n{}")
    assert "\r\nContent-Length: 0\r\n" in put  # as aiohttp did for a body-less PUT
    assert "Content-Length" not in got


async def test_credentials_in_the_url_become_basic_auth_and_never_beside_another(
    client: HttpClient,
) -> None:
    async with raw_server(keep_answering) as server:
        url = server.url("/x").replace("://", "://us%40er:p%C3%A4ss@")
        assert (await call(client, url)).ok
        both = await call(client, url, Authorization="Bearer t")
    expected = base64.b64encode("us@er:päss".encode("latin1")).decode()
    assert f"\r\nAuthorization: Basic {expected}\r\n" in server.requests[0].decode()
    assert "us%40er" not in server.requests[0].decode()  # not in the request line either
    assert (both.status, both.error_reason) == (None, ErrorReason.INVALID_REQUEST)
    assert len(server.requests) == 1


async def test_a_header_with_a_line_break_is_refused_and_nothing_is_sent(
    client: HttpClient,
) -> None:
    async with raw_server(keep_answering) as server:
        request = OutgoingRequest("GET", server.url(), {"X-A": "1\r\nX-Injected: 2"})
        result = await client.send(request, http_enabled=True)
    assert (result.status, result.error_reason) == (None, ErrorReason.INVALID_REQUEST)
    assert server.requests == []


async def test_a_tab_or_non_ascii_text_in_a_header_is_sent_as_is(client: HttpClient) -> None:
    async with raw_server(keep_answering) as server:
        result = await call(client, server.url(), X_A="one\ttwo", X_B="Zoë ✓")
    assert result.ok
    assert "\r\nX_A: one\ttwo\r\nX_B: Zoë ✓\r\n" in server.requests[0].decode()


# connections ------------------------------------------------------------------------------


async def test_a_get_on_a_kept_connection_the_server_dropped_is_sent_again_once(
    client: HttpClient,
) -> None:
    async def one_per_connection(server: Server, reader: Reader, writer: Writer) -> None:
        await read_request(server, reader)
        writer.write(answer(b"first"))
        await writer.drain()
        await read_request(server, reader)  # the next one arrives as the server gives up
        writer.transport.abort()

    async with raw_server(one_per_connection) as server:
        first = await call(client, server.url())
        again = await call(client, server.url())
    assert (first.body, again.status, again.body) == (b"first", 200, b"first")
    assert server.connections == 2


async def test_a_post_on_a_kept_connection_the_server_dropped_is_not_sent_again(
    client: HttpClient,
) -> None:
    """It may have been applied: the caller (a delivery's retry) decides, as with aiohttp."""

    async def one_per_connection(server: Server, reader: Reader, writer: Writer) -> None:
        await read_request(server, reader)
        writer.write(answer(b"first"))
        await writer.drain()
        await read_request(server, reader)
        writer.transport.abort()

    async with raw_server(one_per_connection) as server:
        assert (await call(client, server.url(), method="POST", body=b"1")).ok
        result = await call(client, server.url(), method="POST", body=b"2")
    assert (result.status, result.error_reason) == (None, ErrorReason.CONNECTION_ERROR)
    assert [r.endswith(b"2") for r in server.requests] == [False, True]


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    client: HttpClient,
) -> None:
    async def answer_then_close(server: Server, reader: Reader, writer: Writer) -> None:
        await read_request(server, reader)
        writer.write(answer(b"bye"))  # keep-alive by default in HTTP/1.1, and yet closed
        await writer.drain()

    async with raw_server(answer_then_close) as server:
        assert (await call(client, server.url(), method="POST", body=b"1")).ok
        await server.closed.wait()
        await asyncio.sleep(0.05)  # the end of the connection reaches the client's loop
        result = await call(client, server.url(), method="POST", body=b"2")
    assert (result.status, result.body) == (200, b"bye")
    assert server.connections == 2


async def test_connection_close_from_the_server_is_honoured(client: HttpClient) -> None:
    async def close_asked(server: Server, reader: Reader, writer: Writer) -> None:
        await read_request(server, reader)
        writer.write(answer(b"once", "Connection: close\r\n"))
        await writer.drain()
        await reader.read()  # leaves closing to the client

    async with raw_server(close_asked) as server:
        results = [await call(client, server.url()) for _ in range(2)]
    assert [r.body for r in results] == [b"once", b"once"]
    assert server.connections == 2


async def test_a_server_closing_mid_body_is_a_failed_call(client: HttpClient) -> None:
    async def half(server: Server, reader: Reader, writer: Writer) -> None:
        await read_request(server, reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        await writer.drain()

    async with raw_server(half) as server:
        result = await call(client, server.url())
    assert result.status is None
    assert result.error_reason in (ErrorReason.INVALID_RESPONSE, ErrorReason.CONNECTION_ERROR)


async def test_a_server_closing_before_answering_is_a_connection_error(
    client: HttpClient,
) -> None:
    async def silent(server: Server, reader: Reader, writer: Writer) -> None:
        await read_request(server, reader)

    async with raw_server(silent) as server:
        result = await call(client, server.url())
    assert (result.status, result.error_reason) == (None, ErrorReason.CONNECTION_ERROR)
    assert result.error_message


async def test_garbage_instead_of_a_response_is_a_malformed_response(client: HttpClient) -> None:
    async with raw_server(keep_answering) as server:
        server.state["reply"] = b"SMTP ready, not HTTP\r\n\r\n"
        result = await call(client, server.url())
    assert (result.status, result.error_reason) == (None, ErrorReason.INVALID_RESPONSE)
    assert (result.error_message or "").startswith("malformed response: ")


async def test_bytes_past_the_end_of_an_answer_do_not_spoil_the_next_call(
    client: HttpClient,
) -> None:
    async with raw_server(keep_answering) as server:
        server.state["reply"] = answer(b"ok") + b"trailing garbage\r\n\r\n"
        results = [await call(client, server.url()) for _ in range(2)]
    assert [(r.status, r.body) for r in results] == [(200, b"ok")] * 2


def held_until(in_flight: int) -> Handler:
    """A server that answers nothing until ``in_flight`` requests have arrived, then
    everything: the calls stay in flight together, each on a connection of its own."""

    async def held(server: Server, reader: Reader, writer: Writer) -> None:
        all_in = server.state.setdefault("all in", asyncio.Event())
        while await read_request(server, reader) is not None:
            if len(server.requests) == in_flight:
                all_in.set()
            await all_in.wait()
            writer.write(answer())
            await writer.drain()

    return held


async def test_connections_to_one_host_never_exceed_the_cap() -> None:
    http = HttpClient(Settings(allow_private_targets=True, per_host_connections=2))

    try:
        async with raw_server(held_until(2)) as server:
            results = await asyncio.gather(*(call(http, server.url()) for _ in range(8)))
    finally:
        await http.close()
    assert [r.status for r in results] == [200] * 8
    assert (server.connections, server.most_open) == (2, 2)


async def test_a_cap_of_zero_means_no_cap_as_before() -> None:
    http = HttpClient(Settings(allow_private_targets=True, per_host_connections=0))

    try:
        async with raw_server(held_until(3)) as server:
            results = await asyncio.gather(*(call(http, server.url()) for _ in range(3)))
    finally:
        await http.close()
    assert [r.status for r in results] == [200] * 3
    assert server.connections == 3


async def test_close_closes_every_connection() -> None:
    http = HttpClient(Settings(allow_private_targets=True))
    async with raw_server(keep_answering) as server:
        assert (await call(http, server.url())).ok
        await http.close()
        await server.closed.wait()  # the server saw the kept connection end
        assert server.open_now == 0


async def test_an_idle_connection_is_closed_after_the_keepalive(
    client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wire, "KEEPALIVE_S", 0.1)
    async with raw_server(keep_answering) as server:
        assert (await call(client, server.url())).ok
        await server.closed.wait()  # closed by the client, nobody else did
        assert (await call(client, server.url())).ok
    assert server.connections == 2


# TLS --------------------------------------------------------------------------------------


async def test_https_to_a_server_with_a_trusted_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = throwaway_ca(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_file))  # what the default context trusts
    http = HttpClient(Settings(allow_private_targets=True))
    try:
        async with raw_server(keep_answering, ssl=ca.server_context) as server:
            results = [await call(http, server.url("/secure")) for _ in range(2)]
    finally:
        await http.close()
    assert [(r.status, r.body) for r in results] == [(200, b"ok")] * 2
    assert server.connections == 1  # kept alive over TLS too


async def test_https_to_a_certificate_nobody_vouches_for_is_refused(
    tmp_path: Path, client: HttpClient
) -> None:
    ca = throwaway_ca(tmp_path)  # not trusted: the system's CAs only
    async with raw_server(keep_answering, ssl=ca.server_context) as server:
        result = await call(client, server.url("/secure"))
    assert (result.status, result.error_reason) == (None, ErrorReason.CONNECTION_ERROR)
    assert "CERTIFICATE_VERIFY_FAILED" in (result.error_message or "")
    assert server.requests == []
