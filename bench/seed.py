"""Setting the benchmark up: the PostgreSQL server of the ``pgN`` modes, the account's
webhook and flow (through the API, as a user would), and the backlog of ``M+backlog`` modes
(through the store's own insert, as the delivery engine writes it)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import aiohttp

from bench import procs
from bench.scenario import flow_document


async def configure(api: str, key: str, stub_url: str, hook_url: str) -> str:
    """The default webhook (→ receiver), the flow, published; returns the flow id."""
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def call(method: str, path: str, body: Any = None) -> Any:
            async with session.request(method, api + path, json=body) as resp:
                data = await resp.json()
                if resp.status >= 300:
                    raise RuntimeError(f"{method} {path}: {resp.status} {data}")
                return data

        await call(
            "POST", "/v1/webhooks", {"name": "receiver", "url": hook_url, "is_default": True}
        )
        created = await call("POST", "/v1/flows", flow_document(stub_url))
        flow_id: str = created["flow_id"]
        await call("POST", f"/v1/flows/{flow_id}/publish")
        return flow_id


def start_postgres() -> Any:
    """The test suite's throw-away server, but durable: fsync, synchronous commit and full
    page writes on (the suite turns them off for speed; a benchmark must not)."""
    from bench.postgres import PostgresServer

    server = PostgresServer(durable=True)
    server.start()
    return server


def insert_backlog(url: str, account_id: str, count: int) -> None:
    """``count`` PENDING deliveries, due now, to a port where nothing listens, inserted as
    the delivery engine inserts them (``store.deliveries.insert``)."""
    from flowhook.domain.message import OutgoingRequest
    from flowhook.store import deliveries as delivery_repo
    from flowhook.store.db import make_engine

    dead = procs.free_port()  # bound a moment ago and closed: connections are refused
    request = OutgoingRequest(
        "POST",
        f"http://127.0.0.1:{dead}/hook",
        {"Content-Type": "application/json"},
        b'{"backlog":true}',
        10.0,
    )
    engine = make_engine(url, single=True)
    now = time.time()
    try:
        for first in range(0, count, 5000):
            with engine.begin() as conn:
                for _ in range(first, min(count, first + 5000)):
                    delivery_repo.insert(
                        conn,
                        delivery_id=str(uuid.uuid4()),
                        account_id=account_id,
                        execution_uuid=None,
                        webhook_id=None,
                        endpoint=f"127.0.0.1:{dead}",
                        request=request,
                        secret_headers=None,
                        due_at=now - 1,
                        lease_owner=None,
                        lease_until=None,
                        now=now,
                    )
    finally:
        engine.dispose()
