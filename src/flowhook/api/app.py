"""The FastAPI application: routers, error handlers, the body limit, and the lifespan that
starts the runtime (store, worker, delivery engine) of this process."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Receive, Scope, Send

from flowhook import __version__
from flowhook.api import (
    accounts,
    activity,
    agents,
    deliveries,
    docs,
    errors,
    executions,
    flows,
    internal_webhooks,
    jobs,
    openapi,
    outbound,
    reports,
    requests,
    short_urls,
    sim,
    trigger,
    webhooks,
)
from flowhook.api.limits import BodyLimit
from flowhook.api.text import TextGuard
from flowhook.runtime import Runtime
from flowhook.settings import Settings
from flowhook.ui import app as console
from flowhook.usecases import channel_settings
from flowhook.usecases import deliveries as delivery_cases
from flowhook.webhooks.metrics import PENDING, REGISTRY, webhook_gauges


class App(FastAPI):
    """FastAPI, with the trigger (the hot path) served ahead of the middleware stack."""

    fast_trigger = True
    """False serves the trigger through FastAPI's own declaration (a test compares both)."""

    max_request_bytes = 256 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_trigger and scope["type"] == "http" and scope["method"] == "POST":
            match = trigger.PATTERN.fullmatch(scope["path"])
            if match:
                scope["app"] = self
                await trigger.serve(
                    scope, receive, send, flow_id=match[1], max_bytes=self.max_request_bytes
                )
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings, *, worker: bool = True, runtime: Runtime | None = None) -> App:
    """``worker=False`` serves the API only (scale-out: workers run elsewhere)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime.build(settings)
        app.state.runtime = rt
        await rt.start(worker=worker)
        try:
            yield
        finally:
            await rt.stop()

    # FastAPI's native OpenTelemetry is off: flowhook exports Prometheus metrics (/metrics)
    # and installs no OpenTelemetry SDK, and left on FastAPI looks in os.environ for a
    # configured provider on every request
    app = App(
        title="flowhook",
        version=__version__,
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # docs.install: the reference's files are served from the package
        redoc_url=None,
    )
    app.max_request_bytes = settings.max_request_bytes
    errors.install(app)
    docs.install(app)
    for module in (
        accounts,
        flows,
        trigger,
        executions,
        webhooks,
        deliveries,
        outbound,
        requests,
        internal_webhooks,
        short_urls,
        agents,
        sim,
        reports,
        activity,
        jobs,
    ):
        app.include_router(module.router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        rt: Runtime = app.state.runtime
        counts = await delivery_cases.counts(rt)
        PENDING.set(counts.get("PENDING", 0))
        gauges = await delivery_cases.webhook_gauges(rt)
        webhook_gauges(gauges.pending, gauges.disabled, gauges.now, gauges.jobs)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        shown: dict[str, Any] = {"status": "ok", "pid": os.getpid()}  # which process
        smpp = channel_settings.health(app.state.runtime)
        if smpp:  # each SMSC bind of this process, by a tag that does not show the host
            shown["smpp"] = smpp
        return shown

    if settings.console:
        # after the API (its paths keep priority), before GET /{code} (it takes /webhooks …)
        console.install(app)
    app.include_router(short_urls.redirects)  # last: GET /{code} must not shadow other routes

    openapi.install(app)
    app.add_middleware(TextGuard, max_bytes=settings.max_request_bytes)  # inside BodyLimit
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    return app
