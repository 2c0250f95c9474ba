"""Ordered delivery (issue 16): a webhook ordered by a key (here the contact number) sends
the deliveries of one key one at a time, in creation order, each with its
``webhook-sequence``; a failing one holds back the later ones of its key only, and when
it is dead-lettered the next one goes out saying so (``webhook-released-after``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_flow_complete import FLOW, trigger
from test_webhook_health import eventually, server

from support.app import Api, error_code
from support.receiver import Received, receiver

A, B = "9879964805", "9879964806"  # two customers: two keys


async def ordered_webhook(api: Api, url: str, **ordering: Any) -> tuple[str, str, str]:
    """An account whose default webhook, ordered by contact, posts to ``url``, and a flow
    that ends at once: (api key, webhook id, flow id)."""
    _, key = await api.account(http_enabled=True)
    hook = {
        "name": "crm",
        "url": url,
        "is_default": True,
        "ordered_by": "contact",
        # the receiver reads the key from the body
        "body_type": "JSON",
        "body": {"contact": "$call.dnis.number"},
        **ordering,
    }
    status, saved = await api.request("POST", "/v1/webhooks", key=key, json=hook)
    assert status == 201, saved
    assert saved["ordered_by"] == hook["ordered_by"]
    status, flow = await api.request("POST", "/v1/flows", key=key, json=FLOW)
    assert status == 201, flow
    return key, saved["id"], flow["flow_id"]


def sequence(got: Received) -> int:
    return int(got.headers["webhook-sequence"])


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_one_key_waits_for_its_failing_delivery_while_another_key_flows_on(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec:
        key, hook_id, flow_id = await ordered_webhook(api, rec.url)
        arrivals: list[tuple[str, int, int]] = []  # (contact, sequence, status answered)

        def answer(got: Received) -> tuple[int, Any, dict[str, str]]:
            who = A if str(got.json()["contact"]).endswith(A) else B
            # A's first delivery fails until B's three have all arrived
            b_done = sum(1 for c, _, s in arrivals if c == B and s == 200) >= 3
            status = 503 if who == A and sequence(got) == 1 and not b_done else 200
            arrivals.append((who, sequence(got), status))
            return status, {}, {}

        rec.on_request = answer
        for _ in range(3):
            await trigger(api, key, flow_id, dnis=A)
        path = f"/v1/deliveries?webhook={hook_id}"
        listed = await eventually(
            api,
            key,
            path,
            lambda b: (
                len(b["deliveries"]) == 3 and max(d["attempts_made"] for d in b["deliveries"]) >= 3
            ),
        )
        # the first one has failed three times; the two after it have not been tried
        made = sorted(d["attempts_made"] for d in listed["deliveries"])
        assert made[:2] == [0, 0] and made[2] >= 3, listed
        for _ in range(3):
            await trigger(api, key, flow_id, dnis=B)
        listed = await eventually(
            api,
            key,
            path,
            lambda b: (
                len(b["deliveries"]) == 6
                and all(d["status"] == "SUCCEEDED" for d in b["deliveries"])
            ),
        )

    a_seen = [(s, status) for c, s, status in arrivals if c == A]
    b_seen = [(s, status) for c, s, status in arrivals if c == B]
    assert b_seen == [(1, 200), (2, 200), (3, 200)], arrivals
    failures = [x for x in a_seen if x[1] == 503]
    assert len(failures) >= 3 and set(failures) == {(1, 503)}
    assert a_seen[len(failures) :] == [(1, 200), (2, 200), (3, 200)], arrivals
    # B went out while A's first was still failing: A's success came after all of B's
    first_a_ok = arrivals.index((A, 1, 200))
    assert all(i < first_a_ok for i, a in enumerate(arrivals) if a[0] == B)
    # the sequence is the creation order, per key
    by_contact: dict[str, list[dict[str, Any]]] = {A: [], B: []}
    for d in sorted(listed["deliveries"], key=lambda d: (d["created_at"], d["sequence"])):
        by_contact[A if d["order_key"].endswith(A) else B].append(d)
    assert [d["sequence"] for d in by_contact[A]] == [1, 2, 3]
    assert [d["sequence"] for d in by_contact[B]] == [1, 2, 3]


async def test_a_dead_letter_releases_the_next_delivery_of_its_key_which_says_so(
    database_url: str, tmp_path: Path
) -> None:
    schedule = {"delivery_schedule_s": [0, 0.05, 0.05]}  # three attempts, then dead
    async with server(database_url, tmp_path, **schedule) as api, receiver() as rec:
        key, hook_id, flow_id = await ordered_webhook(api, rec.url)
        rec.on_request = lambda got: (503, {}, {}) if sequence(got) == 1 else None
        first = await trigger(api, key, flow_id, dnis=A)
        await trigger(api, key, flow_id, dnis=A)
        await trigger(api, key, flow_id, dnis=A)
        listed = await eventually(
            api,
            key,
            f"/v1/deliveries?webhook={hook_id}",
            lambda b: (
                len(b["deliveries"]) == 3
                and sorted(d["status"] for d in b["deliveries"])
                == ["FAILED", "SUCCEEDED", "SUCCEEDED"]
            ),
        )
        dead = next(d for d in listed["deliveries"] if d["status"] == "FAILED")
        second = next(d for d in listed["deliveries"] if d["sequence"] == 2)
        status, view = await api.request("GET", f"/v1/deliveries/{second['id']}", key=key)
        assert status == 200, view
    assert dead["execution_uuid"] == first["uuid"] and dead["sequence"] == 1
    assert [sequence(r) for r in rec.received] == [1, 1, 1, 2, 3]
    released = rec.received[3]
    assert released.headers["webhook-released-after"] == dead["id"]
    assert "webhook-released-after" not in rec.received[4].headers
    # the attempt log says so too
    assert view["attempts"][0]["request_headers"]["webhook-released-after"] == dead["id"]
    assert view["released_after"] == dead["id"]


async def test_ordering_is_checked_and_shown(database_url: str, tmp_path: Path) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec:
        _, key = await api.account(http_enabled=True)
        base = {"name": "crm", "url": rec.url}
        for bad in (
            {"ordered_by": "variable"},
            {"ordered_by": "contact", "order_variable": "flow.key.x"},
            {"ordered_by": "weekday"},
            {"ordered_by": "variable", "order_variable": "no spaces"},
        ):
            status, body = await api.request("POST", "/v1/webhooks", key=key, json=base | bad)
            assert status == 422 and error_code(body) == "VALIDATION_FAILED", (bad, body)
        hook = base | {"ordered_by": "variable", "order_variable": "$flow.key.order_id"}
        status, saved = await api.request("POST", "/v1/webhooks", key=key, json=hook)
        assert status == 201, saved
        assert (saved["ordered_by"], saved["order_variable"]) == ("variable", "flow.key.order_id")
        # a replace that does not name the ordering keeps it; null lifts it
        path = f"/v1/webhooks/{saved['id']}"
        status, kept = await api.request("PUT", path, key=key, json=base)
        assert status == 200 and kept["ordered_by"] == "variable", kept
        status, lifted = await api.request("PUT", path, key=key, json=base | {"ordered_by": None})
        assert status == 200 and lifted["ordered_by"] is None, lifted
