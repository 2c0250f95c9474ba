"""Rotating the signing secret (issue 12.4) counts from the next attempt, in every process:
the API that rotates and the worker that delivers are different runtimes on one database
here, so flushing a cache inside the API's process could not make these pass.

With an overlap (issue 16, default 24 h) every delivery carries a signature with the old
secret too until the overlap ends: a receiver knowing only one of them verifies it. Time is
moved with the runtime's clock, not slept."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from test_flow_complete import setup, trigger

from flowhook.runtime import Runtime
from support.app import Api, error_code, running_api, settings_for
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


async def rotate(api: Api, key: str, overlap_s: float | None = 0) -> str:
    """Rotate; ``overlap_s`` 0 ends the old secret at once, None takes the default."""
    options = {} if overlap_s is None else {"json": {"overlap_s": overlap_s}}
    status, body = await api.request(
        "POST", "/v1/account/signing-secret/rotate", key=key, **options
    )
    assert status == 200, body
    secret: str = body["signing_secret"]
    return secret


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_the_next_delivery_after_a_rotation_without_overlap_has_only_the_new_secret(
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


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_retry_after_a_rotation_without_overlap_has_only_the_new_secret(
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


def moved_clock(runtime: Runtime, by_s: float) -> None:
    """The runtime's clock (use cases and delivery engine) ``by_s`` ahead of the wall."""
    runtime.services.clock = lambda: time.time() + by_s


async def test_during_the_overlap_old_and_new_secrets_verify_and_after_it_only_the_new(
    api_any: Api,
) -> None:
    api = api_any
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        old = await signing_secret(api, key)
        before = time.time()
        status, rotated = await api.request(
            "POST", "/v1/account/signing-secret/rotate", key=key, json={"overlap_s": 3600}
        )
        assert status == 200, rotated
        new = rotated["signing_secret"]
        [until] = rotated["previous_valid_until"]
        assert before + 3600 <= until <= time.time() + 3600
        await trigger(api, key, flow_id)
        during = (await rec.wait_for(1))[0]
        moved_clock(api.runtime, 3601)  # the overlap is over
        await trigger(api, key, flow_id)
        after = (await rec.wait_for(2))[1]
        _, shown = await api.request("GET", "/v1/account/signing-secret", key=key)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verifies(old, during) and verifies(new, during)
    assert verifies(new, after) and not verifies(old, after)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert shown == {"signing_secret": new, "previous_valid_until": [], "public_key": None}


async def test_the_default_overlap_is_24_hours(api: Api) -> None:
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        old = await signing_secret(api, key)
        new = await rotate(api, key, overlap_s=None)
        moved_clock(api.runtime, 23.9 * 3600)
        await trigger(api, key, flow_id)
        near_the_end = (await rec.wait_for(1))[0]
        moved_clock(api.runtime, 24 * 3600 + 1)
        await trigger(api, key, flow_id)
        after = (await rec.wait_for(2))[1]
    assert verifies(old, near_the_end) and verifies(new, near_the_end)
    assert verifies(new, after) and not verifies(old, after)


async def test_a_retry_in_the_overlap_carries_both_signatures(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A message first sent before the rotation is retried after it: the retry verifies
    with the old secret and with the new one."""
    schedule = {"delivery_schedule_s": [0] + [0.2] * 25, "breaker_failures": 0}
    async with api_and_worker(sqlite_url, tmp_path, **schedule) as api, receiver() as rec:
        rec.replies = [(503, {}, {})]
        key, flow_id = await setup(api, rec.url)
        old = await signing_secret(api, key)
        started = await trigger(api, key, flow_id)
        first = (await rec.wait_for(1))[0]
        new = await rotate(api, key, overlap_s=600)
        await delivery_of(api, key, started["uuid"], "SUCCEEDED")
    retry = rec.received[-1]
    assert verifies(old, first) and not verifies(new, first)
    assert retry.headers["webhook-id"] == first.headers["webhook-id"]
    assert verifies(old, retry) and verifies(new, retry)


async def test_a_second_rotation_in_the_overlap_keeps_every_secret_still_in_it(
    api: Api,
) -> None:
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        first = await signing_secret(api, key)
        second = await rotate(api, key, overlap_s=3600)
        third = await rotate(api, key, overlap_s=600)
        await trigger(api, key, flow_id)
        got = (await rec.wait_for(1))[0]
    assert all(verifies(secret, got) for secret in (first, second, third))
    assert len(got.headers["webhook-signature"].split(" ")) == 3


@pytest.mark.parametrize("overlap", [-1, 30 * 24 * 3600 + 1, "a day", False])
async def test_an_overlap_outside_0_to_30_days_is_refused(api_any: Api, overlap: Any) -> None:
    _, key = await api_any.account()
    before = await signing_secret(api_any, key)
    status, body = await api_any.request(
        "POST", "/v1/account/signing-secret/rotate", key=key, json={"overlap_s": overlap}
    )
    assert status == 422 and error_code(body) == "VALIDATION_FAILED"
    assert await signing_secret(api_any, key) == before


async def test_the_check_button_is_signed_with_both_secrets_in_the_overlap(api: Api) -> None:
    async with receiver() as rec:
        _, key = await api.account(http_enabled=True)
        old = await signing_secret(api, key)
        new = await rotate(api, key, overlap_s=3600)
        status, result = await api.request(
            "POST", "/v1/webhooks/check", key=key, json={"url": rec.url}
        )
        assert status == 200 and result["ok"], result
    got = rec.received[0]
    assert verifies(old, got) and verifies(new, got)


def verifies_ed25519(public_key: str, got: Received) -> bool:
    """The receiver's side of ``v1a``: the public key only, with ``cryptography``."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key.removeprefix("whpk_")))
    signed = f"{got.headers['webhook-id']}.{got.headers['webhook-timestamp']}.".encode()
    for entry in got.headers["webhook-signature"].split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1a":
            try:
                key.verify(base64.b64decode(signature), signed + got.body)
            except InvalidSignature:
                continue
            return True
    return False


async def test_asymmetric_v1a_signatures_verify_with_the_public_key_alone(api_any: Api) -> None:
    api = api_any
    path = "/v1/account/signing-secret/asymmetric"
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        secret = await signing_secret(api, key)
        status, on = await api.request("PUT", path, key=key, json={"enabled": True})
        assert status == 200, on
        public_key = on["public_key"]
        await trigger(api, key, flow_id)
        signed = (await rec.wait_for(1))[0]
        status, again = await api.request("PUT", path, key=key, json={"enabled": True})
        _, shown = await api.request("GET", "/v1/account/signing-secret", key=key)
        status, off = await api.request("PUT", path, key=key, json={"enabled": False})
        await trigger(api, key, flow_id)
        unsigned = (await rec.wait_for(2))[1]
        status, bad = await api.request("PUT", path, key=key, json={"enabled": "maybe"})
    assert public_key.startswith("whpk_")
    assert again["public_key"] == shown["public_key"] == public_key  # kept while on
    assert verifies_ed25519(public_key, signed)
    assert verifies(secret, signed)  # the HMAC signature is still there
    assert not verifies_ed25519(public_key, unsigned) and verifies(secret, unsigned)
    assert off["public_key"] is None
    assert status == 422 and error_code(bad) == "VALIDATION_FAILED"


async def test_a_v1a_signature_does_not_verify_a_changed_body(api: Api) -> None:
    path = "/v1/account/signing-secret/asymmetric"
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        _, on = await api.request("PUT", path, key=key, json={"enabled": True})
        await trigger(api, key, flow_id)
        got = (await rec.wait_for(1))[0]
    tampered = Received(got.method, got.path, got.query, got.headers, got.body + b" ")
    assert verifies_ed25519(on["public_key"], got)
    assert not verifies_ed25519(on["public_key"], tampered)
