"""Endpoint health: what the delivery engine's attempts say about each saved webhook, and
what follows from it.

A saved webhook is HEALTHY, FAILING (since its first failed attempt after a success), or
DISABLED. One that fails for ``FLOWHOOK_WEBHOOK_DISABLE_AFTER_S`` (5 days) without a
success is disabled, and so is one whose receiver answers ``410 Gone``, at once. A disabled
webhook's deliveries are kept, not attempted and not dead-lettered (parked: see
``store/webhook_health.py``) until it is enabled again. Each change, and each dead letter,
is an operational event for the account's operational webhook (``events.py``).

The delivery engine calls this module at three places: before an attempt (a disabled
webhook's delivery is parked instead), inside the transaction that records an attempt (the
state change and its event commit with the attempt), and after that commit. The success
path is the hot path: a success writes nothing unless this process knows the webhook is not
HEALTHY — a set re-read from the database every ``FLOWHOOK_WEBHOOK_HEALTH_REFRESH_S``, so
a webhook another worker marked FAILING is recovered by this worker's successes from then
on. Attempt statistics are tallied in memory and added to the database on the same beat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from flowhook.domain.message import HttpResult
from flowhook.logging import get_logger
from flowhook.settings import Settings
from flowhook.store import deliveries as delivery_repo
from flowhook.store import rollup
from flowhook.store import webhook_health as health_repo
from flowhook.store import webhook_stats as stats_repo
from flowhook.store.db import Store
from flowhook.store.deliveries import DeadLetter, Delivery
from flowhook.store.secrets import Cipher
from flowhook.store.webhook_stats import BUCKET_S, Tally
from flowhook.webhooks import events
from flowhook.webhooks.events import Followup, OperationalEvents
from flowhook.webhooks.outgoing import Enqueue

log = get_logger(__name__)

GONE_STATUS = 410
BULK_IDS = 100
"""At most this many delivery ids in one ``delivery.exhausted`` event about a bulk."""
_STATS_KEPT_S = 2 * 24 * 3600.0


class Lifecycle:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        cipher: Cipher,
        enqueue: Enqueue,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.events = OperationalEvents(cipher, enqueue)
        self._not_healthy: set[str] = set()
        self._tallies: dict[tuple[str, int], Tally] = {}
        self._purged_at = 0.0

    # before an attempt ----------------------------------------------------------------------
    @staticmethod
    def holds(delivery: Delivery) -> bool:
        """Whether the delivery's webhook is disabled: it is parked, not attempted."""
        return delivery.target is not None and delivery.target.disabled

    async def park(self, delivery: Delivery) -> None:
        webhook_id, now = delivery.webhook_id, self.clock()
        assert webhook_id is not None
        await self.store.write(lambda c: health_repo.park(c, webhook_id, now, delivery.id))

    # the attempt's outcome ------------------------------------------------------------------
    @staticmethod
    def steer(delivery: Delivery, result: HttpResult, status: str) -> str:
        """The delivery's status after an attempt: a ``410 Gone`` from a saved webhook's
        receiver disables the webhook, and the delivery is parked with the others (left
        PENDING, without a due time) rather than dead-lettered."""
        if result.status == GONE_STATUS and delivery.target is not None:
            return delivery_repo.PENDING
        return status

    def observe(self, delivery: Delivery, ok: bool, duration_ms: float, now: float) -> None:
        """Count the attempt in the webhook's statistics (added to the database later)."""
        if delivery.webhook_id is None:
            return
        key = (delivery.webhook_id, int(now // BUCKET_S))
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = Tally()
        tally.add(ok, duration_ms)

    def recorded(
        self,
        conn: Connection,
        delivery: Delivery,
        result: HttpResult,
        *,
        ok: bool,
        status: str,
    ) -> list[Followup]:
        """In the transaction that records the attempt: the webhook's change of health and
        the events it (and a dead letter) causes. Returns the events to send after commit."""
        webhook_id = delivery.webhook_id
        if ok and status != delivery_repo.FAILED and webhook_id not in self._not_healthy:
            return []  # the hot path: a success of a webhook known HEALTHY (or of none)
        now = self.clock()
        out: list[Followup | None] = []
        if webhook_id is not None and delivery.target is not None:
            if ok:
                if webhook_id in self._not_healthy and health_repo.recovered(conn, webhook_id):
                    out.append(self._about(conn, delivery, events.RECOVERED, now, {}))
            else:
                out.append(self._failed(conn, delivery, result, now))
        if status == delivery_repo.FAILED:
            out.append(self.exhausted(conn, delivery, result, now))
        return [followup for followup in out if followup is not None]

    def _failed(
        self, conn: Connection, delivery: Delivery, result: HttpResult, now: float
    ) -> Followup | None:
        webhook_id = delivery.webhook_id
        assert webhook_id is not None
        self._not_healthy.add(webhook_id)
        failure = {
            "status_code": result.status,
            "error_reason": result.error_reason.value if result.error_reason else None,
        }
        if result.status == GONE_STATUS:
            if health_repo.disable(conn, webhook_id, now, reason=health_repo.GONE):
                data = {"reason": health_repo.GONE, "disabled_at": now, **failure}
                return self._about(conn, delivery, events.DISABLED, now, data)
            # another attempt's 410 disabled it first: this delivery is kept like the rest
            health_repo.park(conn, webhook_id, now, delivery.id)
            return None
        if health_repo.mark_failing(conn, webhook_id, now):
            data = {"failing_since": now, **failure}
            return self._about(conn, delivery, events.FAILING, now, data)
        before = now - self.settings.webhook_disable_after_s
        if health_repo.disable(
            conn, webhook_id, now, reason=health_repo.FAILING_TOO_LONG, failing_before=before
        ):
            data = {"reason": health_repo.FAILING_TOO_LONG, "disabled_at": now, **failure}
            return self._about(conn, delivery, events.DISABLED, now, data)
        return None

    def _about(
        self,
        conn: Connection,
        delivery: Delivery,
        event_type: str,
        now: float,
        data: dict[str, Any],
    ) -> Followup | None:
        webhook_id = delivery.webhook_id
        assert webhook_id is not None
        log.info("webhook health changed", webhook=webhook_id, change=event_type)
        return self.events.emit(
            conn,
            account_id=delivery.account_id,
            event_type=event_type,
            about=webhook_id,
            key=f"{webhook_id}:{now!r}",
            data={"webhook_id": webhook_id, "endpoint": delivery.endpoint, **data},
            now=now,
        )

    def exhausted(
        self, conn: Connection, delivery: Delivery, result: HttpResult | None, now: float
    ) -> Followup | None:
        """The event for a delivery that was just dead-lettered."""
        data = {
            "delivery_id": delivery.id,
            "webhook_id": delivery.webhook_id,
            "execution_uuid": delivery.execution_uuid,
            "endpoint": delivery.endpoint,
            "status_code": result.status if result is not None else None,
            "error_reason": (result.error_reason.value if result and result.error_reason else None),
        }
        return self.events.emit(
            conn,
            account_id=delivery.account_id,
            event_type=events.EXHAUSTED,
            about=delivery.webhook_id,
            key=f"{delivery.id}:{now!r}",
            data=data,
            now=now,
        )

    def exhausted_in_bulk(
        self,
        conn: Connection,
        dead: Sequence[DeadLetter],
        endpoint: str,
        reason: str,
        now: float,
    ) -> list[Followup]:
        """The events for deliveries dead-lettered together (``reason``: why, e.g.
        ``CIRCUIT_OPEN``): per account and webhook, one ``delivery.exhausted`` event per
        ``BULK_IDS`` of them, listing their ids (bounded in size, none left out)."""
        groups: dict[tuple[str, str | None], list[str]] = {}
        for letter in dead:
            groups.setdefault((letter.account_id, letter.webhook_id), []).append(letter.id)
        out: list[Followup | None] = []
        for (account_id, webhook_id), ids in groups.items():
            for start in range(0, len(ids), BULK_IDS):
                chunk = ids[start : start + BULK_IDS]
                data = {
                    "delivery_ids": chunk,
                    "count": len(chunk),
                    "webhook_id": webhook_id,
                    "endpoint": endpoint,
                    "status_code": None,
                    "error_reason": reason,
                }
                out.append(
                    self.events.emit(
                        conn,
                        account_id=account_id,
                        event_type=events.EXHAUSTED,
                        about=webhook_id,
                        key=f"bulk:{chunk[0]}:{now!r}",
                        data=data,
                        now=now,
                    )
                )
        return [followup for followup in out if followup is not None]

    @staticmethod
    def committed(followups: list[Followup]) -> None:
        """Send the events written with the attempt, now that they are committed."""
        for pending, inserted in followups:
            pending.after_commit(inserted)

    # the beat: health hints and statistics --------------------------------------------------
    async def beat(self) -> None:
        """Add the tallied statistics to the database and re-read which webhooks are not
        HEALTHY (the success path's hint)."""
        tallies, self._tallies = self._tallies, {}
        now = self.clock()
        purge = now - self._purged_at > 3600
        if purge:
            self._purged_at = now

        def write(conn: Connection) -> None:
            stats_repo.add(conn, ((w, b, t) for (w, b), t in tallies.items()))
            if purge:
                stats_repo.forget_before(conn, now - _STATS_KEPT_S)
                rollup.forget_before(conn, now - _STATS_KEPT_S)  # the last day's figures

        if tallies or purge:
            await self.store.write(write)
        self._not_healthy = await self.store.read(health_repo.not_healthy)

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.webhook_health_refresh_s)
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook health beat failed")

    async def flush(self) -> None:
        """The last beat, when the engine stops: no tallied attempt is lost."""
        try:
            await self.beat()
        except Exception:
            log.exception("webhook statistics not saved at stop")
