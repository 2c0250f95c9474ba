"""HTTP/1.1 on the wire for ``HttpClient``: keep-alive connections per host, each an
``asyncio.Protocol`` that parses responses with ``httptools`` (llhttp, the parser uvicorn
uses), instead of an ``aiohttp.ClientSession``.

Why not aiohttp: the process is one core, and its two outgoing calls per flow cost about a
fifth of it. aiohttp's session does, per request, much that flowhook never uses (cookie
jars, proxies, traces, multidicts, a stream reader, a writer task); measured on uvloop,
a small JSON POST cost ~250 µs of CPU through ``session.post`` and ~90 µs through a bare
protocol with a pooled connection. This module is that bare protocol plus what the product
needs of it, and nothing else:

* a pool per ``(scheme, host, port)`` capped by ``settings.per_host_connections`` (callers
  wait for a connection at the cap), idle connections closed after ``KEEPALIVE_S``, no
  global cap: the worker's concurrency bounds it;
* names resolved by ``GuardedResolver`` (the SSRF guard on DNS answers, ``resolver.py``),
  answers kept ``DNS_TTL_S`` as aiohttp's connector kept them; IP literals are not looked
  up (``check_url`` judged them); TLS with ``ssl.create_default_context()`` (certificate
  and host name checked, SNI = the URL's host), as aiohttp's default;
* the request as aiohttp wrote it (``Host``, ``Accept: */*``,
  ``Accept-Encoding: gzip, deflate``, ``Content-Length``, ``Content-Type:
  application/octet-stream`` by default for bodies and POST/PUT/PATCH, Basic auth from the
  URL's user-info); a control character in a header is refused (``ValueError``, as
  aiohttp's writer) before anything is sent;
* the response body decompressed (gzip/deflate) and capped while it arrives: past the cap
  the exchange ends at once and the connection is dropped, so a large or endless body
  never sits in memory;
* a request on a reused connection that died before any byte of its response is sent again
  once on a new connection, for idempotent methods only (what aiohttp did: a POST may have
  been applied; RFC 9112 §9.3.1). A connection the server closed while idle is noticed when
  its end arrives and never reused at all.

The policy (guard, deadline, redirects, the ``HttpResult``) stays in ``transport.py``.
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import ssl
import sys
import zlib
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

import httptools
from aiohttp import hdrs
from multidict import istr
from yarl import URL

from flowhook.webhooks.guard import BlockedResolution

if TYPE_CHECKING:
    from aiohttp.abc import ResolveResult

    from flowhook.webhooks.resolver import GuardedResolver

KEEPALIVE_S: Final = 30.0
"""An idle connection is closed after this long (aiohttp's ``keepalive_timeout`` was 30)."""
DNS_TTL_S: Final = 30.0
"""How long a guarded DNS answer is reused (aiohttp's ``ttl_dns_cache`` was 30)."""
USER_AGENT: Final = "flowhook"
ACCEPT_ENCODING: Final = "gzip, deflate"
"""What aiohttp sent (without brotli/zstd installed); the body is decompressed here."""

_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
_WITHOUT_BODY: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""aiohttp's GET_METHODS: no ``Content-Length: 0`` when they have no body."""
_DEFAULT_TYPED: Final = frozenset({"POST", "PUT", "PATCH"})
"""aiohttp's POST_METHODS: ``Content-Type: application/octet-stream`` unless given."""
_FORBIDDEN: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""What aiohttp's header writer refused (a line break would inject a header)."""
_METHOD_FORBIDDEN: Final = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_INJECTION: Final = (
    "Forbidden control character detected in headers. Potential header injection attack."
)


class MalformedResponse(Exception):
    """The server's bytes are not an HTTP/1.1 response we can read (or decode)."""


class ServerDisconnected(ConnectionError):
    """The connection ended before the response did; ``before_response``: not one byte of
    it had arrived (the request may not have been read at all)."""

    def __init__(self, message: str, *, before_response: bool) -> None:
        super().__init__(message)
        self.before_response = before_response


class ConnectFailed(OSError):
    """No connection could be made; the message names the host as aiohttp's did."""


class LookupFailed(ConnectFailed):
    """The name did not resolve (not a refusal by the guard: that is ``BlockedResolution``)."""


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool


def request_head(method: str, url: URL, headers: dict[str, str], body: bytes | None) -> bytes:
    """The request line and headers, as aiohttp composed them, ready to write.

    ``ValueError`` (the caller's ``INVALID_REQUEST``) for a method or header that would
    break the framing, and for an ``Authorization`` header beside credentials in the URL
    (aiohttp refused that combination too)."""
    if method not in _METHODS and _METHOD_FORBIDDEN.search(method):
        raise ValueError(f"Method cannot contain non-token characters {method!r}")
    lines = [
        f"{method} {url.raw_path_qs} HTTP/1.1",
        f"Host: {url.host_port_subcomponent}",
        f"User-Agent: {USER_AGENT}",
    ]
    given = set()
    for name, value in headers.items():
        folded = name.lower()
        given.add(folded)
        if folded == "host":
            lines[1] = f"{name}: {value}"  # in its place, as aiohttp put it
        elif folded == "user-agent":
            lines[2] = f"{name}: {value}"
        else:
            lines.append(f"{name}: {value}")
    if not all(map(str.isprintable, lines)) and any(map(_FORBIDDEN.search, lines)):
        raise ValueError(_INJECTION)  # a tab or a printable non-ASCII character is fine
    if "accept" not in given:
        lines.append("Accept: */*")
    if "accept-encoding" not in given:
        lines.append(f"Accept-Encoding: {ACCEPT_ENCODING}")
    if url.raw_user is not None or url.raw_password is not None:
        if "authorization" in given:
            raise ValueError(
                "Cannot combine AUTHORIZATION header with AUTH argument or credentials "
                "encoded in URL"
            )
        pair = f"{url.user or ''}:{url.password or ''}".encode("latin1")
        lines.append(f"Authorization: Basic {base64.b64encode(pair).decode('ascii')}")
    if "content-length" not in given:
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        elif method not in _WITHOUT_BODY:
            lines.append("Content-Length: 0")
    if "content-type" not in given and (body is not None or method in _DEFAULT_TYPED):
        lines.append("Content-Type: application/octet-stream")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8")


class Wire:
    """The connections of one transport, on one event loop."""

    def __init__(self, resolver: GuardedResolver, per_host: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.resolver = resolver
        self.per_host = per_host if per_host > 0 else sys.maxsize  # 0: no cap, as aiohttp
        self.closed = False
        self._hosts: dict[tuple[str, str, int], _Host] = {}
        self._dns: dict[tuple[str, int], tuple[float, list[ResolveResult]]] = {}
        self._tls: ssl.SSLContext | None = None
        self._sweeper: asyncio.TimerHandle | None = None

    async def request(
        self, url: URL, method: str, head: bytes, body: bytes | None, limit: int
    ) -> Response:
        """Send one request on a pooled connection and read its response whole (the body
        cut at ``limit`` bytes after decompression)."""
        key = (url.scheme, url.raw_host or "", url.port or 0)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(self, key)
        data = head + body if body else head
        is_head = method == "HEAD"
        fresh = False
        while True:
            conn, reused = await host.acquire(fresh)
            try:
                response = await conn.exchange(data, is_head, limit)
            except ServerDisconnected as exc:
                host.release(conn, reusable=False)
                if reused and exc.before_response and not fresh and method in _IDEMPOTENT:
                    fresh = True  # the server had closed it as we wrote: once more, anew
                    continue
                raise
            except BaseException:
                host.release(conn, reusable=False)  # cancelled mid-exchange: never reused
                raise
            host.release(conn, reusable=conn.reusable)
            return response

    async def close(self) -> None:
        self.closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for host in list(self._hosts.values()):
            host.close()
        self._hosts.clear()

    def tls(self) -> ssl.SSLContext:
        """Made on the first https connection: loading the CA certificates costs a few ms."""
        if self._tls is None:
            self._tls = ssl.create_default_context()  # as aiohttp's verified context
            self._tls.set_alpn_protocols(("http/1.1",))
        return self._tls

    async def addresses(self, host: str, port: int) -> list[ResolveResult]:
        """What ``host`` may be connected to, by the guarded resolver (kept a while)."""
        now = self.loop.time()
        kept = self._dns.get((host, port))
        if kept is not None and kept[0] > now:
            return kept[1]
        results = await self.resolver.resolve(host, port, family=socket.AF_UNSPEC)
        if len(self._dns) > 1024:
            self._dns.clear()
        self._dns[(host, port)] = (now + DNS_TTL_S, results)
        return results

    def idle_now(self) -> None:
        """A connection went idle: make sure the sweep that closes stale ones will run."""
        if self._sweeper is None and not self.closed:
            self._sweeper = self.loop.call_later(KEEPALIVE_S, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        before = self.loop.time() - KEEPALIVE_S
        left = False
        for key, host in list(self._hosts.items()):
            left = host.sweep(before) or left
            if host.open == 0 and not host.waiters:
                del self._hosts[key]  # a host called once is not kept for ever
        if left:
            self.idle_now()


class _Host:
    """The connections to one ``(scheme, host, port)``: at most ``per_host`` open."""

    def __init__(self, wire: Wire, key: tuple[str, str, int]) -> None:
        self.wire = wire
        self.scheme, self.host, self.port = key
        self.idle: list[Connection] = []
        self.conns: set[Connection] = set()  # open: in use or idle
        self.open = 0  # connecting, in use or idle
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self, fresh: bool) -> tuple[Connection, bool]:
        """A connection for one exchange and whether it was used before."""
        loop = self.wire.loop
        while True:
            if self.wire.closed:
                raise ConnectionError("the HTTP client is closed")
            idle = self.idle
            while idle and not fresh:
                conn = idle.pop()
                if not conn.closed and loop.time() - conn.idle_since < KEEPALIVE_S:
                    return conn, True
                conn.close()
            if self.open >= self.wire.per_host and fresh and idle:
                idle.pop(0).close()  # make room for the fresh connection a retry needs
            if self.open < self.wire.per_host:
                self.open += 1
                try:
                    conn = await self._connect()
                except BaseException:
                    self.open -= 1
                    self._wake()
                    raise
                return conn, False
            waiter = loop.create_future()
            self.waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, but leaving: pass the turn on
                else:
                    self.waiters.remove(waiter)
                raise

    def release(self, conn: Connection, *, reusable: bool) -> None:
        if reusable and not conn.closed and not self.wire.closed:
            conn.idle_since = self.wire.loop.time()
            self.idle.append(conn)
            self.wire.idle_now()
            self._wake()
        else:
            conn.close()  # forget() wakes a waiter

    def forget(self, conn: Connection) -> None:
        """``conn`` is closed: it no longer counts, and a waiter may open another."""
        if conn.counted:
            conn.counted = False
            self.open -= 1
            self.conns.discard(conn)
            if conn in self.idle:
                self.idle.remove(conn)
            self._wake()

    def sweep(self, before: float) -> bool:
        for conn in [c for c in self.idle if c.idle_since <= before]:
            conn.close()
        return bool(self.idle)

    def close(self) -> None:
        for conn in list(self.conns):  # in use too: their calls fail, as with aiohttp
            conn.close()
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)  # they find the wire closed
        self.waiters.clear()

    def _wake(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connect(self) -> Connection:
        loop = self.wire.loop
        tls = self.scheme == "https"
        if _is_ip(self.host):
            targets = [(self.host.strip("[]"), self.port)]
        else:
            try:
                found = await self.wire.addresses(self.host, self.port)
            except BlockedResolution:
                raise  # the guard's refusal, reported as such by the transport
            except OSError as exc:
                raise LookupFailed(self._why(exc, tls)) from exc
            targets = [(r["host"], r["port"]) for r in found]
        error: OSError | None = None
        for address, port in targets:
            conn = Connection(self)
            try:
                await loop.create_connection(
                    conn.itself,
                    address,
                    port,
                    ssl=self.wire.tls() if tls else None,
                    server_hostname=self.host.rstrip(".") if tls else None,
                )
            except ssl.SSLCertVerificationError as exc:
                raise ConnectFailed(
                    f"Cannot connect to host {self.host}:{self.port} ssl:True "
                    f"[{type(exc).__name__}: {exc.args}]"
                ) from exc
            except OSError as exc:
                error = exc
                continue
            if conn.closed:  # ended before this task ran again: never counted, never used
                error = ConnectionResetError("Server disconnected")
                continue
            conn.counted = True
            self.conns.add(conn)
            return conn
        assert error is not None
        raise ConnectFailed(self._why(error, tls)) from error

    def _why(self, exc: OSError, tls: bool) -> str:
        return (
            f"Cannot connect to host {self.host}:{self.port} ssl:{'default' if tls else False} "
            f"[{exc.strerror or exc}]"
        )


def _is_ip(host: str) -> bool:
    if ":" in host:
        return True  # only an IPv6 literal has colons in a URL's host
    try:
        socket.inet_pton(socket.AF_INET, host)
    except OSError:
        return False
    return True


class Connection(asyncio.Protocol):
    """One connection; one exchange at a time. ``exchange`` writes the request and waits
    for the parser's callbacks to complete (or fail) the future."""

    def __init__(self, host: _Host) -> None:
        self.host = host
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.counted = False
        self.idle_since = 0.0
        self.waiter: asyncio.Future[Response] | None = None
        self.reusable = False
        # the exchange in progress
        self._head = False
        self._limit = 0
        self._got_data = False
        self._interim = False
        self._status = 0
        self._raw: list[tuple[bytes, bytes]] = []
        self._headers: dict[str, str] = {}
        self._chunks: list[bytes] = []
        self._size = 0
        self._decoder: zlib._Decompress | None = None
        self._deflate = False
        self._until_eof = False

    def itself(self) -> Connection:
        """The protocol factory of its own connection."""
        return self

    def exchange(self, data: bytes, head: bool, limit: int) -> asyncio.Future[Response]:
        assert self.transport is not None and self.waiter is None
        self._head, self._limit = head, limit
        self._got_data = self._interim = False
        self._status, self._raw, self._headers = 0, [], {}
        self._chunks, self._size, self._decoder, self._deflate = [], 0, None, False
        self.reusable = False
        waiter = self.waiter = self.host.wire.loop.create_future()
        try:
            self.transport.write(data)
        except (RuntimeError, OSError) as exc:  # uvloop: the transport closed under us
            self._fail(ServerDisconnected(str(exc), before_response=True))
        return waiter

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        self.host.forget(self)

    # asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:
            self.close()  # nothing asked: a server talking out of turn is not reused
            return
        self._got_data = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # 101: the exchange ended at its headers
        except httptools.HttpParserError as exc:
            self._fail(MalformedResponse(str(exc) or type(exc).__name__))

    def eof_received(self) -> bool:
        self._ended(None)
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._ended(exc)
        self.host.forget(self)

    # httptools callbacks ----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw.append((name, value))

    def on_headers_complete(self) -> None:
        if self.waiter is None:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._interim = True  # 100 Continue, 103 Early Hints: the answer follows
            self._raw = []
            return
        self._status = status
        self._headers, folded = _headers(self._raw)
        if self._head or status == 101:
            self._finish(reusable=False)  # no body; llhttp would wait for one
            return
        encoding = folded.get(b"content-encoding", "").lower()
        if encoding == "gzip":
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._deflate = encoding == "deflate"
        self._until_eof = (
            status not in (204, 304)
            and b"content-length" not in folded
            and "chunked" not in folded.get(b"transfer-encoding", "").lower()
        )

    def on_body(self, chunk: bytes) -> None:
        if self.waiter is None or not chunk:
            return
        if self._deflate:
            # zlib-wrapped as the RFC says, or raw deflate as some servers send (aiohttp
            # read both, judging by the first byte)
            self._deflate = False
            self._decoder = zlib.decompressobj(
                zlib.MAX_WBITS if chunk[0] & 0x0F == 8 else -zlib.MAX_WBITS
            )
        room = self._limit + 1 - self._size
        if self._decoder is not None:
            try:
                chunk = self._decoder.decompress(chunk, room)
            except zlib.error as exc:
                self._fail(MalformedResponse(f"Can not decode content-encoding: {exc}"))
                return
            if self._decoder.unconsumed_tail:
                self._chunks.append(chunk)
                self._size += len(chunk)
                self._finish(reusable=False)
                return
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size > self._limit:
            self._finish(reusable=False)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self.waiter is None:
            return
        if self._decoder is not None:
            try:
                tail = self._decoder.flush()
            except zlib.error as exc:
                self._fail(MalformedResponse(f"Can not decode content-encoding: {exc}"))
                return
            if tail:
                self._chunks.append(tail)
                self._size += len(tail)
        self._finish(reusable=self.parser.should_keep_alive())

    # ------------------------------------------------------------------------------------

    def _ended(self, exc: Exception | None) -> None:
        """The connection ended (or half-closed): complete or fail the exchange."""
        self.closed = True
        if self.waiter is None:
            return
        if self._status and self._until_eof:
            self.on_message_complete()  # a body delimited by the end of the connection
            return
        if self._status:
            self._fail(MalformedResponse("Response payload is not completed"))
            return
        message = "Server disconnected" if exc is None else (str(exc) or type(exc).__name__)
        self._fail(ServerDisconnected(message, before_response=not self._got_data))

    def _finish(self, *, reusable: bool) -> None:
        waiter, self.waiter = self.waiter, None
        self.reusable = reusable and not self.closed
        body = b"".join(self._chunks)
        truncated = self._size > self._limit
        if truncated:
            body = body[: self._limit]
            self.reusable = False
        if waiter is not None and not waiter.done():
            waiter.set_result(Response(self._status, self._headers, body, truncated))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        self.reusable = False
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


def _headers(raw: list[tuple[bytes, bytes]]) -> tuple[dict[str, str], dict[bytes, str]]:
    """As ``dict(resp.headers)`` of aiohttp: a header aiohttp knows under its canonical name
    (``content-type`` → ``Content-Type``), any other as sent; a repeated header keeps its
    first value (under each spelling of an unknown name). And the first value of each
    header by its lower-case name, for reading the framing."""
    headers: dict[str, str] = {}
    first: dict[bytes, str] = {}
    canonical = _CANONICAL
    for raw_name, raw_value in raw:
        value = raw_value.decode("utf-8", "surrogateescape")
        folded = raw_name.lower()
        name = canonical.get(folded)
        if name is None:
            name = raw_name.decode("utf-8", "surrogateescape")
        if folded in first:
            headers.setdefault(name, first[folded])
        else:
            first[folded] = value
            headers[name] = value
    return headers, first


_CANONICAL: Final = {
    str(name).lower().encode("ascii"): str(name)
    for name in vars(hdrs).values()
    if isinstance(name, istr)
}
"""The names aiohttp's parser gave in their canonical spelling (``aiohttp.hdrs``)."""
