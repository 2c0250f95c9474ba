"""The webhook registry's rules, called as the API, the console and the CLI call them:
straight on a Runtime, on SQLite and PostgreSQL, without HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from flowhook.domain.account import Account
from flowhook.domain.message import OutgoingRequest
from flowhook.errors import Conflict, FlowhookError, NotFound
from flowhook.runtime import Runtime
from flowhook.store import deliveries as delivery_repo
from flowhook.store import flows as flow_repo
from flowhook.usecases import deliveries, webhooks
from flowhook.usecases.webhooks import CheckIn, WebhookIn
from flowhook.webhooks.directory import WebhookDirectory
from support.receiver import receiver

MakeAccount = Callable[..., Awaitable[Account]]


def form(name: str = "crm", url: str = "https://crm.example.com/in", **extra: Any) -> WebhookIn:
    return WebhookIn(name=name, url=url, **extra)


def code_of(raised: pytest.ExceptionInfo[FlowhookError]) -> str:
    return raised.value.code


async def test_a_name_is_taken_once_per_account(rt: Runtime, make_account: MakeAccount) -> None:
    acme, other = await make_account("acme"), await make_account("other")
    first = await webhooks.create(rt, acme, form("crm"))

    with pytest.raises(Conflict) as raised:
        await webhooks.create(rt, acme, form("crm", "https://b.example.com"))
    assert code_of(raised) == "WEBHOOK_NAME_TAKEN"
    # a webhook is named by its id as well (a widget may target either)
    with pytest.raises(Conflict):
        await webhooks.create(rt, acme, form(first.id))
    assert (await webhooks.create(rt, other, form("crm"))).name == "crm"
    assert [w.id for w in await webhooks.list_all(rt, acme)] == [first.id]


async def test_a_replacement_keeps_its_own_name_but_cannot_take_another(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme = await make_account()
    await webhooks.create(rt, acme, form("a"))
    b = await webhooks.create(rt, acme, form("b"))

    with pytest.raises(Conflict) as raised:
        await webhooks.replace(rt, acme, b.id, form("a"))
    assert code_of(raised) == "WEBHOOK_NAME_TAKEN"
    replaced = await webhooks.replace(rt, acme, b.id, form("b", "https://b.example.com/v2"))
    assert (replaced.id, replaced.spec.url) == (b.id, "https://b.example.com/v2")
    assert (await webhooks.get(rt, acme, "b")).spec.url == "https://b.example.com/v2"


async def test_a_webhook_a_flow_uses_cannot_be_deleted(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme = await make_account()
    used = await webhooks.create(rt, acme, form("crm"))
    unused = await webhooks.create(rt, acme, form("spare"))
    flow = {
        "name": "uses_crm",
        "entry": {"start": "w"},
        "widgets": {"w": {"type": "webhook", "webhook": "crm"}},
    }
    await rt.store.write(lambda c: flow_repo.create(c, acme.id, flow, rt.now()))

    with pytest.raises(Conflict) as raised:
        await webhooks.delete(rt, acme, used.id)
    assert code_of(raised) == "WEBHOOK_IN_USE"
    assert raised.value.details == {"flows": ["uses_crm"]}
    await webhooks.delete(rt, acme, unused.id)
    assert [w.name for w in await webhooks.list_all(rt, acme)] == ["crm"]


async def test_another_accounts_webhook_is_not_found(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme, other = await make_account("acme"), await make_account("other")
    saved = await webhooks.create(rt, acme, form("crm"))

    for attempt in (
        lambda: webhooks.get(rt, other, saved.id),
        lambda: webhooks.get(rt, other, "crm"),
        lambda: webhooks.replace(rt, other, saved.id, form("crm")),
        lambda: webhooks.delete(rt, other, saved.id),
        lambda: webhooks.check_saved(rt, other, saved.id),
    ):
        with pytest.raises(NotFound) as raised:
            await attempt()
        assert code_of(raised) == "WEBHOOK_NOT_FOUND"
    assert await webhooks.list_all(rt, other) == []
    assert (await webhooks.get(rt, acme, saved.id)).name == "crm"


async def test_a_replaced_webhooks_pending_deliveries_go_to_its_new_endpoint(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme = await make_account()
    saved = await webhooks.create(rt, acme, form("crm", "https://old.example.com/in"))
    now = rt.now()
    await rt.store.write(
        lambda c: delivery_repo.insert(
            c,
            delivery_id="d-1",
            account_id=acme.id,
            execution_uuid=None,
            webhook_id=saved.id,
            endpoint="old.example.com:443",
            request=OutgoingRequest("POST", "https://old.example.com/in", {}, b"{}", 5.0),
            secret_headers=None,
            due_at=now + 60,
            lease_owner=None,
            lease_until=None,
            now=now,
        )
    )

    await webhooks.replace(rt, acme, saved.id, form("crm", "https://new.example.com:8443/in"))

    assert (await deliveries.get(rt, acme, "d-1"))["endpoint"] == "new.example.com:8443"


async def test_every_change_is_seen_by_running_flows_at_once(
    rt: Runtime, make_account: MakeAccount
) -> None:
    """The caches of a webhook widget's targets and of the flow-complete default are
    dropped by the change: no flow sends to a webhook as it was before."""
    acme = await make_account()
    directory = rt.services.get(WebhookDirectory)
    assert await directory.find(acme.id, "crm") is None  # cached: no such webhook
    assert await rt.flow_complete.default_webhook(acme.id) is None

    saved = await webhooks.create(rt, acme, form("crm", is_default=True))
    found = await directory.find(acme.id, "crm")
    assert found is not None and found.id == saved.id
    default = await rt.flow_complete.default_webhook(acme.id)
    assert default is not None and default.id == saved.id

    await webhooks.replace(rt, acme, saved.id, form("crm", "https://b.example.com"))
    found = await directory.find(acme.id, "crm")
    assert found is not None and found.spec.url == "https://b.example.com"
    assert await rt.flow_complete.default_webhook(acme.id) is None

    await webhooks.delete(rt, acme, saved.id)
    assert await directory.find(acme.id, "crm") is None


async def test_a_widget_works_out_a_webhook_version_once(
    rt: Runtime, make_account: MakeAccount
) -> None:
    """The hot path: every call of a webhook widget to the same version of a saved webhook
    reuses one decrypted target; an edit is a new version, worked out anew."""
    acme = await make_account()
    saved = await webhooks.create(rt, acme, form("crm", "https://a.example.com"))
    directory = rt.services.get(WebhookDirectory)
    first = await directory.target(acme.id, "crm")
    second = await directory.target(acme.id, "crm")
    assert first is not None and second is not None
    assert second.sending is first.sending
    assert first.sending.spec.url == "https://a.example.com"

    await webhooks.replace(rt, acme, saved.id, form("crm", "https://b.example.com"))
    edited = await directory.target(acme.id, "crm")
    assert edited is not None and edited.sending is not first.sending
    assert edited.sending.spec.url == "https://b.example.com"


async def test_times_are_the_runtimes_clock(rt: Runtime, make_account: MakeAccount) -> None:
    acme = await make_account()
    rt.services.clock = lambda: 1_700_000_000.0
    saved = await webhooks.create(rt, acme, form())
    assert (saved.created_at, saved.updated_at) == (1_700_000_000.0, 1_700_000_000.0)
    rt.services.clock = lambda: 1_700_000_100.0
    replaced = await webhooks.replace(rt, acme, saved.id, form())
    assert (replaced.created_at, replaced.updated_at) == (1_700_000_000.0, 1_700_000_100.0)


async def test_a_check_sends_one_request_and_only_a_saved_webhook_keeps_its_result(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme = await make_account(http_enabled=True)
    async with receiver() as rec:
        unsaved = await webhooks.check(rt, acme, CheckIn(url=rec.url))
        assert (unsaved.ok, unsaved.status_code) == (True, 200)
        assert await webhooks.list_all(rt, acme) == []

        saved = await webhooks.create(rt, acme, form(url=rec.url))
        assert saved.last_check is None
        rec.default = (401, {"error": "who are you"}, {})
        result = await webhooks.check_saved(rt, acme, saved.id)
        assert (result.ok, result.status_code) == (False, 401)
    assert [r.json()["test"] for r in rec.received] == [True, True]
    assert (await webhooks.get(rt, acme, saved.id)).last_check == result.model_dump()
