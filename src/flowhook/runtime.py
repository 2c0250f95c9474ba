"""The composition root: builds the store, caches, HTTP client, worker and delivery engine
of one process from one ``Settings``. The API, the CLI and the tests all start here."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowhook.channels.bounces import BounceServer
from flowhook.channels.service import Channels
from flowhook.engine.context import Services
from flowhook.engine.state import ExecutionState
from flowhook.graphs import GraphRenderer
from flowhook.internal.dialer import Dialer
from flowhook.settings import Settings
from flowhook.store.catalog import Catalog
from flowhook.store.db import Store
from flowhook.store.intake import ExecutionIntake
from flowhook.store.notify import Listener, Work
from flowhook.store.secrets import Cipher
from flowhook.webhooks import metrics
from flowhook.webhooks.client import HttpClient
from flowhook.webhooks.delivery import DeliveryEngine
from flowhook.webhooks.directory import WebhookDirectory
from flowhook.webhooks.outbox import FireAndForget, FlowCompleteHook
from flowhook.worker.jobs import JobRunner
from flowhook.worker.ops_mail import OpsMailer
from flowhook.worker.retention import RetentionJob
from flowhook.worker.runner import ExecutionRunner

_ON_FIRST_USE = ("flowhook.webhooks.transport", "flowhook.internal.methods", "phonenumbers")
"""Modules imported on first use rather than at start-up (aiohttp, phone numbers, …)."""


def preload() -> None:
    """Import now what the first call out, internal method, phone number or delivery would
    import: a server or worker must not stall its event loop for it (the first request,
    and every lease's renewal, would wait)."""
    for name in _ON_FIRST_USE:
        importlib.import_module(name)
    metrics.REGISTRY  # noqa: B018 - the metrics are made on first access


@dataclass
class Runtime:
    settings: Settings
    store: Store
    cipher: Cipher
    catalog: Catalog
    services: Services
    runner: ExecutionRunner
    deliveries: DeliveryEngine
    flow_complete: FlowCompleteHook
    jobs: JobRunner
    listener: Listener | None = None
    retention: RetentionJob | None = None
    mailer: OpsMailer | None = None
    bounces: BounceServer | None = None
    started: bool = False
    graphs: GraphRenderer = field(default_factory=GraphRenderer)
    """Draws flows (``dot``), caching each drawing for the process."""

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool = True, eager: bool = True) -> Runtime:
        """``eager=False`` leaves the ``preload`` to first use: ``flowhook run`` starts
        faster, and only its own execution waits for what it does use."""
        if eager:
            preload()
        store = Store(settings, migrate=migrate)
        cipher = Cipher(settings)
        catalog = Catalog(store, ttl=settings.cache_ttl_s, cipher=cipher)
        services = Services(settings=settings, clock=time.time)
        http = HttpClient(settings)
        services.add(http)
        services.add(store)
        services.add(cipher)
        services.add(catalog)
        services.add(WebhookDirectory(store, cipher, ttl=settings.cache_ttl_s))
        runner = ExecutionRunner(store, catalog, services)
        services.add(runner)
        services.add(ExecutionIntake(runner.admit))
        deliveries = DeliveryEngine(
            store, catalog, http, cipher, settings, runner.owner, clock=lambda: services.clock()
        )
        services.add(deliveries)
        flow_complete = FlowCompleteHook(store, cipher, deliveries, ttl=settings.cache_ttl_s)
        services.add(flow_complete)
        services.add(FireAndForget(store, deliveries))
        runner.hooks.append(flow_complete)
        # The dialer, lent to widgets, frees an execution's agent when the execution ends.
        dialer = Dialer(store, services.clock, runner.nudge)
        services.add(dialer)
        runner.hooks.append(dialer.on_finish)
        # The channel layer ends the legs a flow left open before the payload is built.
        channels = Channels(store, settings, services.clock, runner.nudge, http, cipher)
        services.add(channels)
        runner.hooks.insert(0, channels.on_finish)
        jobs = JobRunner(store, settings, lambda: services.clock(), deliveries.nudge)
        runtime = cls(
            settings, store, cipher, catalog, services, runner, deliveries, flow_complete, jobs
        )
        runtime.retention = RetentionJob(store, settings, lambda: services.clock())
        runtime.mailer = OpsMailer(
            store, settings, catalog, channels, runner.owner, lambda: services.clock()
        )
        return runtime

    async def start(self, *, worker: bool = True) -> None:
        self.runner.local = worker
        if worker:
            await self.runner.start()
            await self.deliveries.start()
            self.jobs.start()
            if self.retention is not None:
                self.retention.start()
            if self.mailer is not None:
                self.mailer.start()
            if not self.store.is_sqlite:
                loop = asyncio.get_running_loop()

                def wake_soon(work: str) -> None:
                    loop.call_soon_threadsafe(self.wake, work)

                self.listener = Listener(self.store.url, wake_soon)
                self.listener.start()
            # SMPP binds at start-up, not on the first message (docs/channels.md)
            await self.services.get(Channels).connect_all()
            if self.settings.bounce_smtp_port:
                channels = self.services.get(Channels)
                host, port = self.settings.bounce_smtp_host, self.settings.bounce_smtp_port
                self.bounces = BounceServer(channels, host, port)
                await self.bounces.start()
        if self.settings.stats_dir is not None:
            self._serve_stats(self.settings.stats_dir)
        self.started = True

    def stats(self) -> dict[str, Any]:
        """Cumulative figures since start: the group commit's batches and waits, and how
        the claim loops ran (``make bench`` subtracts two readings around a window)."""
        return {
            "pid": os.getpid(),
            "at": time.time(),
            "writes": self.store.committer.writes,
            "transactions": self.store.committer.transactions,
            "commit": self.store.committer.stats.reading(),
            "executions": self.runner.stats(),
            "deliveries": self.deliveries.stats(),
        }

    def _serve_stats(self, folder: Path) -> None:
        """On SIGUSR1, append ``stats()`` as a line of ``<folder>/<pid>.jsonl``; the file
        is there (with a first reading) once the signal is safe to send."""
        path = folder / f"{os.getpid()}.jsonl"

        def dump() -> None:
            with path.open("a") as out:
                out.write(json.dumps(self.stats()) + "\n")

        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            # the main thread's loop only (serve, worker); elsewhere there is no reading
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump)
            folder.mkdir(parents=True, exist_ok=True)
            dump()

    def now(self) -> float:
        """The runtime's clock (the engine's too): read once per use case, for its whole
        transaction."""
        return self.services.clock()

    def wake(self, work: str = "") -> None:
        """Due ``work`` (a notification's payload, ``store/notify.Work``) was stored by
        another process: run that claim now. Any other payload (none: on connecting, or
        from a process of an older version) may mean any kind: all three claims."""
        claims: dict[str, Callable[[], None]] = {
            Work.EXECUTIONS: self.runner.nudge,
            Work.DELIVERIES: self.deliveries.nudge,
            Work.JOBS: self.jobs.nudge,
        }
        named = claims.get(work)
        for nudge in [named] if named is not None else claims.values():
            nudge()

    async def stop(self) -> None:
        if self.bounces is not None:
            await self.bounces.stop()
            self.bounces = None
        if self.listener is not None:
            await asyncio.to_thread(self.listener.stop)
            self.listener = None
        if self.retention is not None:
            await self.retention.stop()
        if self.mailer is not None:
            await self.mailer.stop()
        if self.started:
            await self.jobs.stop()
            await self.runner.stop()
            await self.deliveries.stop()
        await self.services.get(Channels).close()
        await self.services.get(HttpClient).close()
        self.store.close()
        self.started = False

    async def execution(self, uuid: str, account_id: str | None = None) -> ExecutionState | None:
        from flowhook.store import executions

        return await self.store.read(lambda c: executions.get(c, uuid, account_id))
