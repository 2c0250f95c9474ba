"""Wires the internal services into a runtime: the dialer, lent to widgets, and its
completion hook that frees an execution's agent when the execution ends."""

from __future__ import annotations

from flowhook.engine.context import Services
from flowhook.internal.dialer import Dialer
from flowhook.store.db import Store
from flowhook.worker.runner import ExecutionRunner


def plug(services: Services, store: Store, runner: ExecutionRunner) -> None:
    dialer = Dialer(store, services.clock, runner.nudge)
    services.add(dialer)
    runner.hooks.append(dialer.on_finish)
