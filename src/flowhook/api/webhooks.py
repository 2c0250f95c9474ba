"""The webhook registry ("Advanced → Webhook") as an API: add, list, read, replace,
delete, and check — the button with the green tick. The rules are the use cases'
(``usecases/webhooks.py``); this router parses, calls one, and renders."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Response

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import error_responses
from flowhook.usecases import activity, operational_email, webhooks
from flowhook.usecases.operational_email import OperationalEmailIn
from flowhook.usecases.webhooks import CheckIn, OperationalWebhookIn, WebhookIn

router = APIRouter()


@router.post("/v1/webhooks", status_code=201, responses=error_responses(409))
async def create_webhook(body: WebhookIn, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return (await webhooks.create(rt, account, body)).to_api()


@router.get("/v1/webhooks")
async def list_webhooks(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return {"webhooks": [w.to_api() for w in await webhooks.list_all(rt, account)]}


@router.get("/v1/account/operational-webhook")
async def get_operational_webhook(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """The webhook that receives the account's operational events (null: none)."""
    saved = await webhooks.operational_webhook(rt, account)
    return {"webhook": saved.to_api() if saved is not None else None}


@router.put("/v1/account/operational-webhook", responses=error_responses(404))
async def put_operational_webhook(
    body: OperationalWebhookIn, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    saved = await webhooks.set_operational_webhook(rt, account, body)
    return {"webhook": saved.to_api() if saved is not None else None}


@router.get("/v1/account/operational-email")
async def get_operational_email(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """The e-mail address that receives the account's operational events (null: none),
    and the operational e-mails sent lately (newest first)."""
    return {
        "email": await operational_email.operational_email(rt, account),
        "mails": await operational_email.recent_mails(rt, account),
    }


@router.put("/v1/account/operational-email")
async def put_operational_email(
    body: OperationalEmailIn, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    return {"email": await operational_email.set_operational_email(rt, account, body)}


@router.get("/v1/webhooks/{webhook_id}")
async def get_webhook(webhook_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """One webhook, with its health and its attempts' statistics over the last 24 h."""
    return await webhooks.get_with_stats(rt, account, webhook_id)


@router.post("/v1/webhooks/{webhook_id}/enable")
async def enable_webhook(webhook_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """Enable a disabled webhook: its kept deliveries are sent again."""
    return await webhooks.enable(rt, account, webhook_id)


@router.put("/v1/webhooks/{webhook_id}", responses=error_responses(409))
async def replace_webhook(
    webhook_id: str, body: WebhookIn, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    return (await webhooks.replace(rt, account, webhook_id, body)).to_api()


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, responses=error_responses(409))
async def delete_webhook(webhook_id: str, account: AccountDep, rt: RuntimeDep) -> Response:
    await webhooks.delete(rt, account, webhook_id)
    return Response(status_code=204)


@router.post("/v1/webhooks/check")
async def check_unsaved(body: CheckIn, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """Check a configuration before saving it (nothing is stored)."""
    return (await webhooks.check(rt, account, body)).model_dump()


@router.post("/v1/webhooks/{webhook_id}/check")
async def check_saved(webhook_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """Check a saved webhook; the result and its time are kept on it."""
    return (await webhooks.check_saved(rt, account, webhook_id)).model_dump()


@router.get("/v1/webhooks/{webhook_id}/activity")
async def webhook_activity(webhook_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """The last 24 hours of the webhook's attempts: per minute (minutes without any are
    left out), success rate, p50/p99 response time in ms."""
    return asdict(await activity.webhook_activity(rt, account, webhook_id))
