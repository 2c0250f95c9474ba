"""Endpoint health (issue 16): a saved webhook is HEALTHY, FAILING since its first failure
after a success, or DISABLED — after failing for 5 days without a success, or at once when
its receiver answers 410 Gone. A disabled webhook's deliveries are kept, not attempted and
not dead-lettered; enabling it sends them. ``GET /v1/webhooks/{id}`` shows the health and
24 h of statistics. Five days pass on the runtime's clock, not in sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from test_flow_complete import FLOW, trigger

from support.app import Api, error_code, running_api, settings_for
from support.receiver import receiver

FIVE_DAYS = 5 * 24 * 3600
RETRYING: dict[str, Any] = {
    "delivery_schedule_s": [0] + [0.1] * 200,  # retried all the test long
    "breaker_failures": 0,
    "webhook_health_refresh_s": 0.05,
}


@asynccontextmanager
async def server(database_url: str, tmp_path: Path, **settings: Any) -> AsyncIterator[Api]:
    async with running_api(settings_for(database_url, tmp_path, **(RETRYING | settings))) as api:
        yield api


async def webhook_with_flow(api: Api, url: str, **account: Any) -> tuple[str, str, str]:
    """An account whose default webhook posts to ``url`` and a flow that uses it:
    (api key, webhook id, flow id)."""
    _, key = await api.account(http_enabled=True, **account)
    status, hook = await api.request(
        "POST", "/v1/webhooks", key=key, json={"name": "crm", "url": url, "is_default": True}
    )
    assert status == 201, hook
    status, flow = await api.request("POST", "/v1/flows", key=key, json=FLOW)
    assert status == 201, flow
    return key, hook["id"], flow["flow_id"]


async def eventually(
    api: Api, key: str, path: str, check: Callable[[Any], bool], timeout: float = 60
) -> Any:
    """GET ``path`` until ``check`` holds for the body (the event, not a guessed delay; the
    deadline only ends a test that would otherwise hang, generous for a loaded machine)."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = await api.request("GET", path, key=key)
        if status == 200 and check(body):
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.02)


def health(body: Any) -> str:
    state: str = body["health"]["state"]
    return state


def move_clock(api: Api, by_s: float) -> None:
    api.runtime.services.clock = lambda: time.time() + by_s


async def deliveries_of(api: Api, key: str, webhook_id: str) -> list[dict[str, Any]]:
    _, listed = await api.request("GET", f"/v1/deliveries?webhook={webhook_id}", key=key)
    found: list[dict[str, Any]] = listed["deliveries"]
    return found


async def test_a_webhook_failing_for_five_days_is_disabled_keeps_its_deliveries_and_resumes(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec:
        rec.default = (503, {}, {})
        key, hook_id, flow_id = await webhook_with_flow(api, rec.url)
        path = f"/v1/webhooks/{hook_id}"
        started = time.time()
        first = await trigger(api, key, flow_id)
        failing = await eventually(api, key, path, lambda b: health(b) == "FAILING")
        assert started <= failing["health"]["failing_since"] <= time.time()

        move_clock(api, FIVE_DAYS - 60)  # not yet: still failing
        seen = len(rec.received)
        await rec.wait_for(seen + 2)  # two more failed attempts in the moved time
        _, still = await api.request("GET", path, key=key)
        assert health(still) == "FAILING"

        move_clock(api, FIVE_DAYS + 1)
        disabled = await eventually(api, key, path, lambda b: health(b) == "DISABLED")
        assert disabled["health"]["disabled_reason"] == "FAILING_TOO_LONG"
        later = [await trigger(api, key, flow_id) for _ in range(2)]
        parked = await eventually(
            api,
            key,
            f"/v1/deliveries?webhook={hook_id}",
            lambda b: (
                len(b["deliveries"]) == 3
                and all(d["last_error"] == "WEBHOOK_DISABLED" for d in b["deliveries"])
            ),
        )
        attempts_when_parked = len(rec.received)
        for delivery in parked["deliveries"]:
            assert delivery["status"] == "PENDING" and delivery["next_attempt_at"] is None
        assert {d["execution_uuid"] for d in parked["deliveries"]} == {
            e["uuid"] for e in [first, *later]
        }
        # the new deliveries were never sent to the disabled webhook
        assert all(d["attempts_made"] == 0 for d in parked["deliveries"][:2])

        rec.default = (200, {"ok": True}, {})
        status, enabled = await api.request("POST", f"{path}/enable", key=key)
        assert status == 200, enabled
        assert enabled["resumed"] == 3 and health(enabled) == "HEALTHY"
        done = await eventually(
            api,
            key,
            f"/v1/deliveries?webhook={hook_id}",
            lambda b: all(d["status"] == "SUCCEEDED" for d in b["deliveries"]),
        )
    assert len(done["deliveries"]) == 3
    assert len(rec.received) == attempts_when_parked + 3  # each sent once after enabling


async def test_410_gone_disables_the_webhook_at_once_and_the_delivery_is_kept(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec:
        rec.default = (410, {"gone": True}, {})
        key, hook_id, flow_id = await webhook_with_flow(api, rec.url)
        path = f"/v1/webhooks/{hook_id}"
        await trigger(api, key, flow_id)
        disabled = await eventually(api, key, path, lambda b: health(b) == "DISABLED")
        [kept] = await deliveries_of(api, key, hook_id)
        assert len(rec.received) == 1  # one attempt, no retry
        rec.default = (204, b"", {})
        status, enabled = await api.request("POST", f"{path}/enable", key=key)
        assert status == 200 and enabled["resumed"] == 1
        await eventually(
            api, key, f"/v1/deliveries/{kept['id']}", lambda b: b["status"] == "SUCCEEDED"
        )
    assert disabled["health"]["disabled_reason"] == "GONE"
    assert kept["status"] == "PENDING" and kept["last_error"] == "WEBHOOK_DISABLED"
    assert rec.received[1].headers["webhook-id"] == rec.received[0].headers["webhook-id"]


async def test_a_success_after_failures_makes_a_failing_webhook_healthy(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec:
        rec.replies = [(503, {}, {}), (500, {}, {})]
        key, hook_id, flow_id = await webhook_with_flow(api, rec.url)
        path = f"/v1/webhooks/{hook_id}"
        started = await trigger(api, key, flow_id)
        await eventually(
            api,
            key,
            f"/v1/deliveries?execution={started['uuid']}",
            lambda b: bool(b["deliveries"]) and b["deliveries"][0]["status"] == "SUCCEEDED",
        )
        body = await eventually(api, key, path, lambda b: health(b) == "HEALTHY")
    assert body["health"]["failing_since"] is None


async def test_get_shows_the_success_rate_and_latency_of_the_last_24_hours(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec:
        rec.replies = [(503, {}, {})]
        key, hook_id, flow_id = await webhook_with_flow(api, rec.url)
        path = f"/v1/webhooks/{hook_id}"
        for _ in range(3):
            await trigger(api, key, flow_id)
        body = await eventually(api, key, path, lambda b: b["stats"]["attempts"] == 4)
        move_clock(api, 24 * 3600 + 600)  # a day later those attempts are out of the window
        _, day_after = await api.request("GET", path, key=key)
        _, listed = await api.request("GET", "/v1/webhooks", key=key)
    stats = body["stats"]
    assert stats["window_s"] == 86400
    assert stats["success_rate"] == 0.75
    assert 0 < stats["p50_ms"] <= stats["p99_ms"] <= 60000
    assert day_after["stats"] == {
        "window_s": 86400,
        "attempts": 0,
        "success_rate": None,
        "p50_ms": None,
        "p99_ms": None,
    }
    assert listed["webhooks"][0]["health"]["state"] == "HEALTHY"


async def test_enabling_an_unknown_webhook_is_404_and_a_healthy_one_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec:
        key, hook_id, _ = await webhook_with_flow(api, rec.url)
        status, body = await api.request("POST", "/v1/webhooks/nope/enable", key=key)
        assert status == 404 and error_code(body) == "WEBHOOK_NOT_FOUND"
        status, body = await api.request("POST", f"/v1/webhooks/{hook_id}/enable", key=key)
    assert status == 200 and body["resumed"] == 0 and health(body) == "HEALTHY"


def samples(text: str, name: str) -> dict[str, float]:
    """The values of one metric, by its ``webhook`` label ("" for none)."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        sample.labels.get("webhook", ""): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def test_metrics_show_pending_per_webhook_the_oldest_ones_age_and_disabled_webhooks(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec:
        rec.default = (410, {}, {})
        key, hook_id, flow_id = await webhook_with_flow(api, rec.url)
        for _ in range(3):
            await trigger(api, key, flow_id)
        await eventually(
            api,
            key,
            f"/v1/deliveries?webhook={hook_id}",
            lambda b: (
                len(b["deliveries"]) == 3
                and all(d["last_error"] == "WEBHOOK_DISABLED" for d in b["deliveries"])
            ),
        )
        move_clock(api, 3600)
        _, disabled = await api.request("GET", "/metrics")
        rec.default = (200, {}, {})
        await api.request("POST", f"/v1/webhooks/{hook_id}/enable", key=key)
        await eventually(
            api,
            key,
            f"/v1/deliveries?webhook={hook_id}",
            lambda b: all(d["status"] == "SUCCEEDED" for d in b["deliveries"]),
        )
        _, enabled = await api.request("GET", "/metrics")
    assert samples(disabled, "flowhook_webhooks_disabled") == {"": 1.0}
    assert samples(disabled, "flowhook_webhook_deliveries_pending") == {hook_id: 3.0}
    assert samples(disabled, "flowhook_webhook_oldest_pending_age_seconds")[hook_id] >= 3600
    assert samples(enabled, "flowhook_webhooks_disabled") == {"": 0.0}
    assert samples(enabled, "flowhook_webhook_deliveries_pending") == {}


def test_statistics_added_by_several_processes_sum_up(database_url: str) -> None:
    """Two processes add their tallies to the same bucket row (an upsert that adds), and
    the percentiles come from the summed histogram."""
    from flowhook.store import webhook_stats
    from flowhook.store.db import make_engine, upgrade
    from flowhook.store.webhook_stats import BUCKET_S, Tally

    upgrade(database_url)
    engine = make_engine(database_url, single=True)
    bucket = int(1_700_000_000 // BUCKET_S)
    first, second = Tally(), Tally()
    for _ in range(60):
        first.add(True, 7.0)  # ≤ 10 ms
    for _ in range(39):
        second.add(True, 80.0)  # ≤ 100 ms
    second.add(False, 9000.0)  # ≤ 10 s
    try:
        with engine.begin() as conn:
            webhook_stats.add(conn, [("w1", bucket, first)])
        with engine.begin() as conn:
            webhook_stats.add(conn, [("w1", bucket, second), ("w2", bucket, Tally())])
        with engine.connect() as conn:
            summary = webhook_stats.summary(conn, "w1", bucket * BUCKET_S - 1)
            later = webhook_stats.summary(conn, "w1", (bucket + 1) * BUCKET_S)
    finally:
        engine.dispose()
    assert summary == {"attempts": 100, "success_rate": 0.99, "p50_ms": 10.0, "p99_ms": 100.0}
    assert later["attempts"] == 0 and later["p50_ms"] is None
