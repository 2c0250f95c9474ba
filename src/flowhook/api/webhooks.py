"""The webhook registry ("Advanced → Webhook" as an API): add, list, read, replace,
delete, and check — the button with the green tick."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import error_responses
from flowhook.domain.account import Account
from flowhook.errors import Conflict, NotFound
from flowhook.runtime import Runtime
from flowhook.store import deliveries as delivery_repo
from flowhook.store import webhooks as webhook_repo
from flowhook.store.webhooks import SavedWebhook
from flowhook.webhooks.check import check_webhook
from flowhook.webhooks.config import RequestSpec
from flowhook.webhooks.directory import WebhookDirectory
from flowhook.webhooks.outbox import target_endpoint

router = APIRouter()


class WebhookIn(RequestSpec):
    """A saved webhook: a request spec with a name and the default flag."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    is_default: bool = False

    def spec(self) -> RequestSpec:
        return RequestSpec.model_validate(self.model_dump(exclude={"name", "is_default"}))


class CheckIn(RequestSpec):
    """What the check button sends: the same form as a save, the name optional (a
    configuration is often checked before it has one). Only the request is checked."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    is_default: bool = False

    def spec(self) -> RequestSpec:
        return RequestSpec.model_validate(self.model_dump(exclude={"name", "is_default"}))


class CheckResult(BaseModel):
    ok: bool
    status_code: int | None
    duration_ms: float
    error_reason: str | None
    checked_at: float


def _not_found(webhook_id: str) -> NotFound:
    return NotFound(f"no webhook {webhook_id}", code="WEBHOOK_NOT_FOUND")


async def _get(rt: Runtime, account: Account, webhook_id: str) -> SavedWebhook:
    saved = await rt.store.read(lambda c: webhook_repo.get(c, account.id, webhook_id))
    if saved is None:
        raise _not_found(webhook_id)
    return saved


def _name_taken(exc: Exception, name: str) -> Conflict:
    return Conflict(f"a webhook named {name!r} exists already", code="WEBHOOK_NAME_TAKEN")


def _forget(rt: Runtime, account_id: str) -> None:
    rt.flow_complete.forget(account_id)
    rt.services.get(WebhookDirectory).forget(account_id)


@router.post("/v1/webhooks", status_code=201, responses=error_responses(409))
async def create_webhook(body: WebhookIn, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    spec = body.spec()

    def create(conn: Any) -> SavedWebhook:
        if webhook_repo.get(conn, account.id, body.name) is not None:
            raise _name_taken(Exception(), body.name)
        return webhook_repo.create(
            conn, account.id, body.name, spec, body.is_default, rt.cipher, time.time()
        )

    saved = await rt.store.write(create)
    _forget(rt, account.id)
    return saved.to_api()


@router.get("/v1/webhooks")
async def list_webhooks(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    saved = await rt.store.read(lambda c: webhook_repo.list_for(c, account.id))
    return {"webhooks": [w.to_api() for w in saved]}


@router.get("/v1/webhooks/{webhook_id}")
async def get_webhook(webhook_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return (await _get(rt, account, webhook_id)).to_api()


@router.put("/v1/webhooks/{webhook_id}", responses=error_responses(409))
async def replace_webhook(
    webhook_id: str, body: WebhookIn, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    current = await _get(rt, account, webhook_id)
    spec = body.spec()

    def replace(conn: Any) -> SavedWebhook | None:
        other = webhook_repo.get(conn, account.id, body.name)
        if other is not None and other.id != current.id:
            raise _name_taken(Exception(), body.name)
        saved = webhook_repo.replace(
            conn, account.id, current.id, body.name, spec, body.is_default, rt.cipher, time.time()
        )
        endpoint = target_endpoint(spec.url)
        if saved is not None and endpoint is not None:
            delivery_repo.retarget(conn, account.id, current.id, endpoint)  # see targets.py
        return saved

    saved = await rt.store.write(replace)
    if saved is None:
        raise _not_found(webhook_id)
    _forget(rt, account.id)
    return saved.to_api()


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, responses=error_responses(409))
async def delete_webhook(webhook_id: str, account: AccountDep, rt: RuntimeDep) -> Response:
    current = await _get(rt, account, webhook_id)

    def remove(conn: Any) -> None:
        users = webhook_repo.flows_using(conn, account.id, current)
        if users:
            raise Conflict(
                f"webhook {current.name!r} is used by flows: {', '.join(users)}",
                code="WEBHOOK_IN_USE",
                details={"flows": users},
            )
        webhook_repo.remove(conn, account.id, current.id)

    await rt.store.write(remove)
    _forget(rt, account.id)
    return Response(status_code=204)


@router.post("/v1/webhooks/check")
async def check_unsaved(body: CheckIn, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """Check a configuration before saving it (nothing is stored)."""
    return await check_webhook(rt, account, body.spec(), password=None)


@router.post("/v1/webhooks/{webhook_id}/check")
async def check_saved(webhook_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """Check a saved webhook; the result and its time are kept on it."""
    saved = await _get(rt, account, webhook_id)
    result = await check_webhook(rt, account, saved.real_spec(rt.cipher), password=None)
    await rt.store.write(lambda c: webhook_repo.record_check(c, saved.id, result))
    return result
