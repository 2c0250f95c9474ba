"""The delivery engine: sends due deliveries at least once, signed, with retries.

Deliveries are rows (see ``store.deliveries``), claimed under a lease like executions, so
any number of workers share them and a worker killed mid-send loses nothing: the lease
expires and another worker sends again with the same ``webhook-id``. A per-endpoint
semaphore keeps one slow receiver from taking every connection, and a claim takes no more
of one endpoint's deliveries than its semaphore will run soon, so a receiver's backlog
cannot fill the in-flight budget either. A receiver that is down trips its circuit
(``breaker.py``): its deliveries are held back, in the database, until a probe succeeds.
What attempts say about a saved webhook over days (failing, disabled, recovered; the
operational events; statistics) is ``health.py``'s, called from ``_attempt``.

New deliveries are created in one place, ``DeliveryEngine.enqueue`` (the flow-complete
webhook and the webhook widget's fire-and-forget calls): one id derivation, one clock per
transaction, the same held-while-the-circuit-is-open rule and the same hand-over (a task
per delivery, or, for the flow-complete one, the finishing execution's task: ``send_here``).

Each attempt is signed with the account's signing secret and sent to the delivery's saved
webhook as they are *now*: both are read with the claim (in the same query), so a rotation
or a fixed webhook counts from the next attempt in every process (``targets.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from yarl import URL

from flowhook.domain.message import AttemptRecord, ErrorReason, HttpResult, OutgoingRequest
from flowhook.domain.signing import Keyring, signature_headers
from flowhook.ids import stable_id
from flowhook.logging import get_logger
from flowhook.settings import Settings
from flowhook.store import accounts as account_repo
from flowhook.store import deliveries as delivery_repo
from flowhook.store import webhook_limits as limit_repo
from flowhook.store.catalog import Catalog
from flowhook.store.db import Store
from flowhook.store.deliveries import CIRCUIT_OPEN, Delivery, Inserted
from flowhook.store.leased import LeasedWorker
from flowhook.store.notify import Work, notify
from flowhook.store.secrets import Cipher
from flowhook.store.webhooks import SavedWebhook
from flowhook.webhooks import metrics
from flowhook.webhooks.breaker import Admission, Breaker, State
from flowhook.webhooks.client import HttpClient
from flowhook.webhooks.events import Followup
from flowhook.webhooks.health import Lifecycle
from flowhook.webhooks.ordering import headers_of as ordering_headers
from flowhook.webhooks.ordering import order_key
from flowhook.webhooks.outcome import raw_text
from flowhook.webhooks.outgoing import NewDelivery
from flowhook.webhooks.retry import Verdict, classify, next_attempt_at, retry_after_seconds
from flowhook.webhooks.targets import attempt_request, sending_target, stored_form

log = get_logger(__name__)

EXCERPT_CHARS = 2_000
_KEYRINGS_KEPT = 10_000
"""Accounts' keyrings kept decrypted (one per account and rotation) before starting over."""
_CLAIM_AHEAD = 2
"""A claim keeps at most this many rounds of an endpoint's semaphore waiting in memory."""


@functools.lru_cache(maxsize=4096)
def endpoint_of(url: str) -> str:
    """The ``host:port`` a URL's deliveries share a semaphore and a circuit for (cached by
    the URL text: every delivery to one webhook asks for the same)."""
    try:
        parsed = URL(url)
        return f"{parsed.host}:{parsed.port}"
    except (ValueError, TypeError):
        return "invalid"


def delivery_id_of(name: str) -> str:
    """The id of the delivery named ``name`` (``flow-complete:<execution>``,
    ``widget:<execution>:<widget>:<step>``): the same name gives the same id, so a replayed
    step inserts nothing (the version-5 UUID of the name in the URL namespace, as ever)."""
    return stable_id(uuid.NAMESPACE_URL, name)


@dataclass(slots=True)
class Enqueued:
    """A new delivery, for the caller's own transaction: ``write`` adds its row (once: a
    replay adds nothing and returns None), then ``after_commit`` with what ``write``
    returned sends it from this process under the lease it was written with (the row as
    committed, not read back), or wakes the claim loop.

    Made by ``DeliveryEngine.enqueue``; nothing is written until the caller runs ``write``.
    """

    engine: DeliveryEngine
    id: str
    account_id: str
    execution_uuid: str | None
    webhook: SavedWebhook | None
    endpoint: str
    request: OutgoingRequest
    secret_headers: bytes | None
    due_at: float
    now: float
    local: bool
    """Sent at once by this process (it has room and the endpoint's circuit is closed)."""
    order_key: str | None = None
    """The key of an ordered webhook's delivery (``ordering.py``); None: not ordered."""

    @property
    def webhook_id(self) -> str | None:
        return self.webhook.id if self.webhook is not None else None

    def write(self, conn: Connection) -> Inserted | None:
        return self._write(conn)()

    def write_later(self, conn: Connection) -> Callable[[], Inserted | None]:
        """As ``write``, but the insert is queued with the transaction's other writes (one
        round trip on PostgreSQL) and what it read comes from the function it returns,
        to call after the commit (``send_later_after_commit``)."""
        return self._write(conn)

    def send_later_after_commit(
        self, inserted: Callable[[], Inserted | None]
    ) -> Coroutine[Any, Any, None] | None:
        """As ``after_commit``, with what ``write_later`` returned, but the send is returned
        for the caller to await in its own task (the execution's, which has nothing left to
        do): no task per delivery."""
        committed = self._committed(inserted())
        return None if committed is None else self.engine.send_here(committed)

    def _write(self, conn: Connection) -> Callable[[], Inserted | None]:
        engine = self.engine
        local = self.local
        if not local:
            notify(conn, Work.DELIVERIES)  # another worker may send it before we do
        return delivery_repo.insert(
            conn,
            delivery_id=self.id,
            account_id=self.account_id,
            execution_uuid=self.execution_uuid,
            webhook_id=self.webhook_id,
            endpoint=self.endpoint,
            request=self.request,
            secret_headers=self.secret_headers,
            due_at=self.due_at,  # later while the endpoint's circuit is open: held
            lease_owner=engine.owner if local else None,
            lease_until=self.now + engine.settings.lease_seconds if local else None,
            now=self.now,
            order_key=self.order_key,
            later=True,
        )

    def after_commit(self, inserted: Inserted | None) -> None:
        """Send the committed delivery from a task of its own (or wake the claim loop)."""
        committed = self._committed(inserted)
        if committed is not None:
            self.engine.hand_over(self.id, committed)

    def _committed(self, inserted: Inserted | None) -> Delivery | None:
        """The row as just committed, when this process sends it under the lease it was
        written with (without reading it back); otherwise None, after waking whoever will
        send it."""
        if inserted is None:
            return None  # a replay: the row was there already, and so was its sending
        engine = self.engine
        webhook = self.webhook
        if not self.local:
            if self.due_at <= self.now:
                engine.nudge()
            return None
        if webhook is not None and inserted.webhook_version != webhook.updated_at:
            # the webhook changed since this process read it: send it as it is now
            engine.hand_over(self.id)
            return None
        return Delivery(
            id=self.id,
            account_id=self.account_id,
            execution_uuid=self.execution_uuid,
            webhook_id=self.webhook_id,
            endpoint=self.endpoint,
            request=self.request,
            secret_headers=self.secret_headers,
            status=delivery_repo.PENDING,
            attempts=0,
            signing_key=inserted.signing_key,
            target=webhook,
        )


class DeliveryEngine(LeasedWorker):
    work = "deliveries"

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        http: HttpClient,
        cipher: Cipher,
        settings: Settings,
        owner: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(store, settings, clock)
        self.catalog = catalog
        self.http = http
        self.cipher = cipher
        self.owner = owner
        self._endpoints: dict[str, asyncio.Semaphore] = {}
        self._held: Counter[str] = Counter()  # deliveries in memory (waiting or sending)
        self.breaker = Breaker.from_settings(settings)
        self._sending = metrics.sending()  # deliveries being sent: metrics.IN_FLIGHT
        # encrypted → keyring, decrypted once each (a token names its secrets: never stale,
        # so a plain dict, emptied when full, does: no LRU bookkeeping per attempt)
        self._secrets: dict[bytes, Keyring] = {}
        self.lifecycle = Lifecycle(store, settings, cipher, self.enqueue, self.clock)

    async def start(self) -> None:
        await super().start()
        self._loops.append(asyncio.create_task(self.lifecycle.run_forever(), name="health"))

    async def stop(self, *, drain_timeout: float = 5.0) -> None:
        await super().stop(drain_timeout=drain_timeout)
        await self.lifecycle.flush()

    def due_at(self, endpoint: str, now: float) -> float:
        """When a new delivery to ``endpoint`` is due: now, or the end of its cool-down."""
        return self.breaker.held_until(endpoint, now) or now

    def takes(self, endpoint: str) -> bool:
        """Whether a delivery committed now should be sent at once by this process (under
        its lease) rather than left to the claim loop."""
        return self.has_room() and self.breaker.state(endpoint) is State.CLOSED

    def enqueue(self, new: NewDelivery) -> Enqueued:
        """``new`` as a delivery for the caller to write in its own transaction and follow
        up after its commit; ``new.now`` is the row's creation, its lease and whether it is
        held (due at the end of its endpoint's cool-down, ``CIRCUIT_OPEN``)."""
        request, webhook, now = new.request, new.webhook, new.now
        stored, secret = stored_form(
            request,
            self.cipher,
            target=new.target if webhook is not None else None,
            lookup=new.lookup,
            references=(
                sending_target(webhook, self.cipher).references if webhook is not None else None
            ),
        )
        endpoint = endpoint_of(request.url)
        return Enqueued(
            engine=self,
            id=delivery_id_of(new.name),
            account_id=new.account_id,
            execution_uuid=new.execution_uuid,
            webhook=webhook,
            endpoint=endpoint,
            request=stored,
            secret_headers=secret,
            due_at=self.due_at(endpoint, now),
            now=now,
            # a limited (or ordered) webhook's deliveries go through its limiter: claimed,
            # never taken
            local=self.takes(endpoint) and not (webhook is not None and webhook.limited),
            order_key=order_key(
                webhook, execution_uuid=new.execution_uuid, contact=new.contact, lookup=new.lookup
            ),
        )

    def hand_over(self, delivery_id: str, delivery: Delivery | None = None) -> None:
        """Send a delivery this process just committed under its own lease (no polling).

        A caller that has the row it just committed passes it as ``delivery``: it is sent
        as is, without reading the row back (one thread hop and query less per flow)."""
        if delivery_id in self.in_flight:
            return
        self.started_here += 1
        if delivery is not None:
            self._spawn(delivery)
        else:
            self.in_flight[delivery_id] = asyncio.create_task(self._send_by_id(delivery_id))

    async def _send_by_id(self, delivery_id: str) -> None:
        try:
            delivery = await self.store.read(lambda c: delivery_repo.get_for_send(c, delivery_id))
            if delivery is not None and delivery.status == delivery_repo.PENDING:
                self._held[delivery.endpoint] += 1
                try:
                    await self._deliver(delivery)
                finally:
                    self._let_go(delivery.endpoint)
        finally:
            self.in_flight.pop(delivery_id, None)

    def _hand_over_after(self, delivery_id: str, _finished: asyncio.Task[None]) -> None:
        self.hand_over(delivery_id)

    async def send_here(self, delivery: Delivery) -> None:
        """Send a delivery this process just committed under its own lease, from the
        caller's task: counted in flight under that task (its lease renewed, waited for at
        stop, and a claim of the same row waits for it) as a task of its own would be."""
        if delivery.id in self.in_flight:
            return
        task = asyncio.current_task()
        assert task is not None, "send_here runs in a task"
        self.started_here += 1
        self._held[delivery.endpoint] += 1
        self.in_flight[delivery.id] = task
        await self._run(delivery)

    def _spawn(self, delivery: Delivery) -> None:
        self._held[delivery.endpoint] += 1  # counted at once: the next claim sees it
        self.in_flight[delivery.id] = asyncio.create_task(self._run(delivery))

    async def _run(self, delivery: Delivery) -> None:
        """Deliver, then leave the in-flight bookkeeping ``_spawn`` or ``send_here`` did
        (``_deliver`` written out: one coroutine less per delivery)."""
        try:
            await self._attempt(delivery)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery attempt crashed", delivery=delivery.id)
        finally:
            self.in_flight.pop(delivery.id, None)
            self._let_go(delivery.endpoint)

    def _let_go(self, endpoint: str) -> None:
        self._held[endpoint] -= 1
        if self._held[endpoint] <= 0:
            del self._held[endpoint]
        if self._held[endpoint] == self._claim_ahead() // 2:
            self.nudge()  # claims left the endpoint out: there is room for a round again

    def _claim_ahead(self) -> int:
        return max(1, _CLAIM_AHEAD * self.settings.delivery_endpoint_concurrency)

    async def _secret(self, delivery: Delivery) -> Keyring:
        """The account's signing secrets as read with the delivery (the current ones)."""
        token = delivery.signing_key
        if token is None:  # not read with it: read it now
            account_id = delivery.account_id
            return await self.store.read(
                lambda c: account_repo.signing_keyring(c, account_id, self.cipher)
            )
        keyring = self._secrets.get(token)
        if keyring is None:
            keyring = Keyring.decode(self.cipher.decrypt(token))
            if len(self._secrets) >= _KEYRINGS_KEPT:
                self._secrets.clear()
            self._secrets[token] = keyring
        return keyring

    def _endpoint(self, endpoint: str) -> asyncio.Semaphore:
        sem = self._endpoints.get(endpoint)
        if sem is None:
            sem = asyncio.Semaphore(self.settings.delivery_endpoint_concurrency)
            self._endpoints[endpoint] = sem
        return sem

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await self._attempt(delivery)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery attempt crashed", delivery=delivery.id)

    def _signed(self, outgoing: OutgoingRequest, delivery: Delivery, keyring: Keyring) -> None:
        """Signed with every secret valid now (a rotation's overlap: the runtime's clock);
        the timestamp is the wall clock the receiver compares it with."""
        secrets = keyring.valid_at(self.clock())
        body, private_key = outgoing.body or b"", keyring.private_key
        outgoing.headers.update(
            signature_headers(secrets, delivery.id, body, time.time(), private_key=private_key)
        )

    async def _attempt(self, delivery: Delivery) -> None:
        """One attempt: build the request as the delivery's webhook is now, send it signed
        (unless the endpoint's circuit holds it back), judge the answer, and store the
        attempt with where the delivery goes next."""
        account = await self.catalog.account(delivery.account_id)
        secret = await self._secret(delivery)
        outgoing = attempt_request(delivery, self.cipher)
        if outgoing is None:
            await self._no_webhook(delivery)
            return
        if delivery.sequence is not None:  # an ordered webhook's delivery
            outgoing.headers.update(ordering_headers(delivery))
        if self.lifecycle.holds(delivery):  # its webhook is disabled: kept, not attempted
            await self.lifecycle.park(delivery)
            return
        endpoint = delivery.endpoint
        sent = await self._send(delivery, outgoing, secret, account.http_enabled)
        if sent is None:
            await self._hand_back(delivery)
            return
        admission, result = sent
        now = time.time()
        outcome = classify(result)
        opened = self._judge(endpoint, result, outcome, admission, now)
        status, next_due = self._next_step(delivery, result, outcome, now)
        status = self.lifecycle.steer(delivery, result, status)
        _count(result, outcome, status)
        attempt = _attempt_log(outgoing, result, outcome, now)
        ok = outcome == "success"
        self.lifecycle.observe(delivery, ok, attempt["duration_ms"], now)

        def record(c: Connection) -> list[Followup]:
            delivery_repo.record_attempt(
                c,
                delivery.id,
                attempt=attempt,
                status=status,
                next_due=next_due,
                now=now,
                owner=(delivery.account_id, delivery.webhook_id),
            )
            return self.lifecycle.recorded(c, delivery, result, ok=ok, status=status)

        self.lifecycle.committed(await self.store.write(record))
        if delivery.target is not None and delivery.target.max_in_flight is not None:
            self.nudge()  # a slot of its limiter is free again
        if opened is not None:
            await self._postpone(endpoint, opened, now)
        if next_due is not None:
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().call_later(max(0.0, next_due - now), self.nudge)

    async def _send(
        self, delivery: Delivery, outgoing: OutgoingRequest, secret: Keyring, http_enabled: bool
    ) -> tuple[Admission, HttpResult] | None:
        """Send under the endpoint's semaphore, signed at the moment of sending, if the
        endpoint's circuit lets it through; None when the circuit holds it back."""
        endpoint = delivery.endpoint
        async with self._endpoint(endpoint):
            # asked after the wait for the semaphore: the attempts ahead may have opened it
            admission = self.breaker.admit(endpoint, time.time())
            if admission is Admission.HOLD:
                return None
            try:
                self._signed(outgoing, delivery, secret)
                sending = self._sending
                sending.count += 1  # metrics.IN_FLIGHT, read at a scrape
                try:
                    result = await self.http.send(outgoing, http_enabled=http_enabled)
                finally:
                    sending.count -= 1
            except BaseException:
                if admission is Admission.PROBE:
                    self.breaker.released(endpoint)  # a probe that says nothing
                raise
        return admission, result

    def _next_step(
        self, delivery: Delivery, result: HttpResult, outcome: Verdict, now: float
    ) -> tuple[str, float | None]:
        """The delivery's status after this attempt, and when the next one is due (a retry
        waits at least until the endpoint's cool-down ends)."""
        if outcome == "success":
            return delivery_repo.SUCCEEDED, None
        if outcome != "retry":
            return delivery_repo.FAILED, None
        retry_after = retry_after_seconds(result.headers, now) if result.headers else None
        next_due = next_attempt_at(delivery.attempts + 1, now, self.settings, retry_after)
        if next_due is None:
            return delivery_repo.FAILED, None
        held = self.breaker.held_until(delivery.endpoint, now)
        if held is not None:
            next_due = max(next_due, held)
        return delivery_repo.PENDING, next_due

    async def _no_webhook(self, delivery: Delivery) -> None:
        """The delivery's saved webhook was deleted: there is nowhere to send it, so it
        fails at once, visibly (a dead letter whose attempt says WEBHOOK_NOT_FOUND), and so
        does a replay."""
        now = time.time()
        attempt: AttemptRecord = {
            "at": now,
            "url": None,
            "status_code": None,
            "duration_ms": 0.0,
            "request_headers": {},
            "response_excerpt": None,
            "error_reason": ErrorReason.WEBHOOK_NOT_FOUND.value,
            "error_message": f"the saved webhook {delivery.webhook_id} was deleted",
        }
        metrics.deliveries("failed").inc()

        def record(c: Connection) -> list[Followup]:
            delivery_repo.record_attempt(
                c,
                delivery.id,
                attempt=attempt,
                status=delivery_repo.FAILED,
                next_due=None,
                now=now,
                owner=(delivery.account_id, delivery.webhook_id),
            )
            return [e for e in [self.lifecycle.exhausted(c, delivery, None, now)] if e is not None]

        self.lifecycle.committed(await self.store.write(record))

    # the circuit breaker -----------------------------------------------------------------
    def _judge(
        self, endpoint: str, result: HttpResult, outcome: Verdict, admission: Admission, now: float
    ) -> float | None:
        """Tell the breaker what the attempt says about the endpoint; the end of the
        cool-down when this attempt opened its circuit."""
        opened: float | None = None
        if outcome == "retry":
            opened = self.breaker.failed(endpoint, now)
            changed = opened is not None
        elif result.status is not None:  # it answered, even if with a 4xx: it is up
            changed = self.breaker.succeeded(endpoint)
            if changed:
                log.info("circuit closed", endpoint=endpoint)
                self.nudge()  # deliveries handed back during the probe are due
        else:
            changed = False  # a probe released goes back to OPEN: still counted as open
            if admission is Admission.PROBE:
                self.breaker.released(endpoint)  # not sent (configuration): nothing learned
        if changed:  # the count moves only when a circuit opens or closes (not per attempt)
            metrics.ENDPOINTS_OPEN.set(self.breaker.open_count())
        return opened

    async def _postpone(self, endpoint: str, until: float, now: float) -> None:
        """Hold the endpoint's pending deliveries back until the cool-down ends, in one
        statement; dead-letter those older than the whole retry schedule."""
        span = self.settings.scaled(sum(self.settings.delivery_schedule_s))

        def write(c: Connection) -> tuple[int, int, list[Followup]]:
            dead, postponed = delivery_repo.postpone(
                c, endpoint, until=until, owner=self.owner, started_before=now - span, now=now
            )
            told = self.lifecycle.exhausted_in_bulk(c, dead, endpoint, CIRCUIT_OPEN, now)
            return len(dead), postponed, told

        dead, postponed, told = await self.store.write(write)
        self.lifecycle.committed(told)
        metrics.POSTPONED.inc(postponed)
        if dead:
            metrics.deliveries("failed").inc(dead)
        log.warning(
            "circuit open: endpoint is down, its deliveries wait",
            endpoint=endpoint,
            cooldown_s=round(until - now, 3),
            postponed=postponed,
            dead_lettered=dead,
        )

    async def _hand_back(self, delivery: Delivery) -> None:
        """Release a leased delivery unsent: due at the end of the cool-down (or now, while
        a probe is out: claims leave the endpoint out until the probe's outcome)."""
        now = time.time()
        due = self.due_at(delivery.endpoint, now)
        await self.store.write(
            lambda c: delivery_repo.release(c, self.owner, delivery.id, due_at=due, now=now)
        )

    def renewal(self, ids: list[str], until: float) -> Any:
        return lambda c: delivery_repo.renew(c, self.owner, ids, until)

    # claiming -------------------------------------------------------------------------
    async def claim_once(self) -> int:
        free = min(
            self.settings.worker_concurrency - len(self.in_flight), self.settings.claim_batch
        )
        if free <= 0:
            return 0
        now = self.clock()  # the runtime's: what a use case made due "now" is due here
        until = now + self.settings.lease_seconds
        ahead = self._claim_ahead()
        rooms = {endpoint: ahead - held for endpoint, held in self._held.items()}
        for endpoint, limit in self.breaker.limits(now).items():
            rooms[endpoint] = min(rooms.get(endpoint, limit), limit - self._held[endpoint])

        def claim(c: Connection) -> limit_repo.Claimed:
            limited = limit_repo.limited(c)  # the one check for webhooks without limits
            got = delivery_repo.claim_due(
                c, self.owner, now, until, free, per_endpoint=ahead, rooms=rooms, limited=limited
            )
            if not limited or len(got) >= free:
                return limit_repo.Claimed(got)
            through = limit_repo.claim(
                c, self.owner, limited, now, until, free - len(got), rooms, ahead
            )
            return limit_repo.Claimed(got + through.deliveries, through.wake_at)

        result = await self.store.write(claim)
        claimed = result.deliveries
        if result.wake_at is not None:
            self.nudge(result.wake_at - now)
        for delivery in claimed:
            finishing = self.in_flight.get(delivery.id)
            if finishing is None:
                self._spawn(delivery)
            else:
                # the task of its last attempt has stored the outcome but not yet left
                # in_flight, and a replay made the row due again: send it (read afresh,
                # only if still PENDING) once that task is done, not when our new lease
                # runs out (lease_seconds later)
                finishing.add_done_callback(functools.partial(self._hand_over_after, delivery.id))
        return len(claimed)


def _count(result: HttpResult, outcome: Verdict, status: str) -> None:
    metrics.attempts(outcome).inc()
    metrics.ATTEMPT_LATENCY.observe(result.duration_s)
    if status == delivery_repo.SUCCEEDED:
        metrics.deliveries("succeeded").inc()
    elif status == delivery_repo.FAILED:
        metrics.deliveries("failed").inc()


def _attempt_log(
    outgoing: OutgoingRequest, result: HttpResult, outcome: Verdict, now: float
) -> AttemptRecord:
    """The attempt as its log keeps it: secrets redacted, an excerpt of the answer."""
    failed = outcome != "success"
    return {
        "at": now,
        "url": outgoing.redacted_url(),
        "status_code": result.status,
        "duration_ms": round(result.duration_s * 1000, 3),
        "request_headers": outgoing.redacted_headers(),
        "response_excerpt": raw_text(result, EXCERPT_CHARS),
        "error_reason": result.error_reason.value if result.error_reason and failed else None,
        "error_message": result.error_message if failed else None,
    }
