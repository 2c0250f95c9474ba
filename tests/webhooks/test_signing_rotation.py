"""Rotating the signing secret (issue 12.4) counts from the next attempt, in every process:
the API that rotates and the worker that delivers are different runtimes on one database
here, so flushing a cache inside the API's process could not make these pass."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from test_flow_complete import setup, trigger

from flowhook.runtime import Runtime
from support.app import Api, running_api, settings_for
from support.flows import delivery_of
from support.receiver import Received, receiver


@asynccontextmanager
async def api_and_worker(database_url: str, tmp_path: Path, **settings: Any) -> AsyncIterator[Api]:
    """An API server without a worker, and a worker (its own Runtime: store, caches,
    delivery engine) on the same database: the API's process never sends a delivery."""
    config = settings_for(database_url, tmp_path, **settings)
    async with running_api(config, worker=False) as api:
        worker = Runtime.build(config, migrate=False)
        await worker.start(worker=True)
        try:
            yield api
        finally:
            await worker.stop()


def verifies(secret: str, got: Received) -> bool:
    try:
        Webhook(secret).verify(got.body, got.headers)
    except WebhookVerificationError:
        return False
    return True


async def signing_secret(api: Api, key: str) -> str:
    status, body = await api.request("GET", "/v1/account/signing-secret", key=key)
    assert status == 200
    secret: str = body["signing_secret"]
    return secret


async def rotate(api: Api, key: str) -> str:
    status, body = await api.request("POST", "/v1/account/signing-secret/rotate", key=key)
    assert status == 200
    secret: str = body["signing_secret"]
    return secret


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
async def test_the_next_delivery_after_a_rotation_is_signed_with_the_new_secret(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    database_url = request.getfixturevalue(f"{engine}_url")
    async with api_and_worker(database_url, tmp_path) as api, receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        old = await signing_secret(api, key)
        await trigger(api, key, flow_id)  # the worker signs one with the old secret first
        before = (await rec.wait_for(1))[0]
        new = await rotate(api, key)
        await trigger(api, key, flow_id)
        after = (await rec.wait_for(2))[1]
    assert verifies(old, before)
    assert verifies(new, after)
    assert not verifies(old, after)


async def test_a_retry_after_a_rotation_is_signed_with_the_new_secret(
    sqlite_url: str, tmp_path: Path
) -> None:
    schedule = {"delivery_schedule_s": [0] + [0.2] * 25, "breaker_failures": 0}
    rotated: list[str] = []

    def accept_new(got: Received) -> tuple[int, Any, dict[str, str]] | None:
        """Only a message signed with the new secret is accepted (503 otherwise)."""
        return (204, b"", {}) if rotated and verifies(rotated[0], got) else None

    async with api_and_worker(sqlite_url, tmp_path, **schedule) as api, receiver() as rec:
        rec.default = (503, {}, {})  # retried until the receiver accepts it
        rec.on_request = accept_new
        key, flow_id = await setup(api, rec.url)
        old = await signing_secret(api, key)
        started = await trigger(api, key, flow_id)
        first = (await rec.wait_for(1))[0]
        rotated.append(await rotate(api, key))
        done = await delivery_of(api, key, started["uuid"], "SUCCEEDED")
    assert verifies(old, first)
    last = rec.received[-1]
    assert last.headers["webhook-id"] == first.headers["webhook-id"] == done["id"]
    assert verifies(rotated[0], last) and not verifies(old, last)
