"""The Settings page: the account's IP whitelist (with the API's lockout guard), time
zone, default region, short-URL token and domain, the signing secret (revealed to admins
only, rotated by them with an overlap; the ``v1a`` public key), the operational-events
webhook, retention, the console's users, and HTTP enablement (read-only: the operator's to
change)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from flowhook.domain.account import Account
from flowhook.errors import Code, FlowhookError
from flowhook.statuses import status_of
from flowhook.ui.app import page_router
from flowhook.ui.render import is_htmx, render
from flowhook.ui.session import AdminDep, VisitorDep, client_address, runtime_of
from flowhook.usecases import accounts, channel_settings, operational_email, users, webhooks
from flowhook.usecases.accounts import (
    MAX_SIGNING_OVERLAP_S,
    AccountSettings,
    AsymmetricSigning,
    RetentionIn,
    Rotation,
)
from flowhook.usecases.operational_email import OperationalEmailIn
from flowhook.usecases.users import CreatedUser, NewUser, Visitor
from flowhook.usecases.webhooks import OperationalWebhookIn

router = page_router()


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _page(
    request: Request,
    visitor: Visitor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    user_errors: dict[str, str] | None = None,
    created: CreatedUser | None = None,
    secret: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
    channel_form: dict[str, str] | None = None,
) -> Response:
    account = visitor.account
    shown = values or {
        "ip_whitelist": "\n".join(account.ip_whitelist),
        "timezone": account.timezone,
        "default_region": account.default_region,
        "short_domain": account.short_domain or "",
    }
    rt = runtime_of(request)
    signing = await accounts.signing_secret(rt, account)
    return render(
        request,
        "settings.html",
        status_code=status_code,
        title="Settings",
        v=shown,
        errors=errors or {},
        user_errors=user_errors or {},
        users=await users.list_all(rt, account),
        webhooks=await webhooks.list_all(rt, account),
        operational=await webhooks.operational_webhook(rt, account),
        operational_email=await operational_email.operational_email(rt, account),
        retention=await accounts.retention(rt, account),
        old_secret_until=signing.previous_valid_until,  # not secret: when, not what
        public_key=signing.public_key,  # public by design
        default_overlap_h=rt.settings.signing_overlap_s / 3600,
        created=created,
        secret=secret,
        notice=notice or ("Settings saved." if request.query_params.get("saved") else None),
        address=client_address(request),
        channels=_channels(visitor.account, channel_form),
    )


def _channels(account: Any, submitted: dict[str, str] | None) -> dict[str, Any]:
    """The Channels section (ui/pages/channel_settings.py), with a form sent back."""
    from flowhook.ui.pages.channel_settings import view

    shown = view(account)
    if submitted is not None:
        shown["fields"] = {**shown["fields"], **submitted}
    return shown


@router.get("/settings")
async def settings_page(request: Request, visitor: VisitorDep) -> Response:
    return await _page(request, visitor)


_AT = {Code.WHITELIST_LOCKOUT: "ip_whitelist", Code.SHORT_DOMAIN_TAKEN: "short_domain"}
"""The field a use case's refusal of the settings is about."""


async def _refusals(request: Request, account: Account, data: dict[str, Any]) -> dict[str, str]:
    """Every field's error at once: the model's, then the use case's checks (the whitelist
    must allow the caller, the short domain must be free) on the fields the model took."""
    errors: dict[str, str] = {}
    try:
        valid = AccountSettings.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else "_"
            errors.setdefault(field, str(error["msg"]).removeprefix("Value error, "))
        try:  # the fields without an error, the others left at their defaults
            valid = AccountSettings.model_validate(
                {k: v for k, v in data.items() if k not in errors}
            )
        except ValidationError:
            return errors
    if "ip_whitelist" not in errors:
        try:
            accounts.refuse_lockout(valid, client_address(request))
        except FlowhookError as exc:
            errors[_AT.get(exc.code, "_")] = exc.message
    if "short_domain" not in errors:
        try:
            await accounts.refuse_taken_short_domain(runtime_of(request), account, valid)
        except FlowhookError as exc:
            errors[_AT.get(exc.code, "_")] = exc.message
    return errors


@router.post("/settings")
async def save_settings(request: Request, visitor: VisitorDep) -> Response:
    form = await request.form()
    values = {
        name: _text(form, name)
        for name in ("ip_whitelist", "timezone", "default_region", "short_domain")
    }
    data = {
        "ip_whitelist": [
            line.strip() for line in values["ip_whitelist"].splitlines() if line.strip()
        ],
        "timezone": values["timezone"].strip() or "UTC",
        "default_region": values["default_region"].strip() or "IN",
        "short_domain": values["short_domain"].strip() or None,
        # the Channels section saves apart: kept as stored (passwords as ***, which keeps them)
        "channels": channel_settings.shown(visitor.account),
    }
    errors = await _refusals(request, visitor.account, data)
    if not errors:
        try:
            parsed = AccountSettings.model_validate(data)
            await accounts.update_settings(
                runtime_of(request), visitor.account, parsed, address=client_address(request)
            )
        except FlowhookError as exc:
            errors[_AT.get(exc.code, "_")] = exc.message
    if errors:
        return await _page(request, visitor, values=values, errors=errors, status_code=422)
    return RedirectResponse("/settings?saved=1", status_code=303)


@router.get("/settings/signing-secret")
async def reveal_secret(request: Request, visitor: AdminDep) -> Response:
    """Admins only (a viewer gets 403): the secret deliveries are signed with."""
    secret = (await accounts.signing_secret(runtime_of(request), visitor.account)).signing_secret
    if is_htmx(request):
        return render(request, "fragments/secret.html", secret=secret)
    return await _page(request, visitor, secret=secret)


def _field_errors(exc: ValidationError, field: str) -> dict[str, str]:
    """A one-field form's validation errors, at that field."""
    first = exc.errors(include_url=False)[0]
    return {field: str(first["msg"]).removeprefix("Value error, ")}


@router.post("/settings/signing-secret/rotate")
async def rotate_secret(request: Request, visitor: VisitorDep) -> Response:
    """A new secret; the old one keeps signing for the overlap typed in hours (empty: the
    server's default)."""
    form = await request.form()
    hours = _text(form, "overlap_h").strip()
    try:
        overlap_s = float(hours) * 3600 if hours else None
    except ValueError:
        errors = {"overlap_h": "the overlap is a number of hours"}
        return await _page(request, visitor, errors=errors, status_code=422)
    try:
        rotation = Rotation.model_validate({"overlap_s": overlap_s})
    except ValidationError:  # out of range
        most = MAX_SIGNING_OVERLAP_S / 3600
        errors = {"overlap_h": f"the overlap is 0 to {most:g} hours"}
        return await _page(request, visitor, errors=errors, status_code=422)
    rotated = await accounts.rotate_signing_secret(runtime_of(request), visitor.account, rotation)
    secret = rotated.signing_secret
    notice = (
        "A new signing secret is in force. Until the overlap ends, deliveries carry a"
        " signature with the old secret too: update your receivers' verification by then."
    )
    return await _page(request, visitor, secret=secret, notice=notice)


@router.post("/settings/signing-secret/asymmetric")
async def asymmetric(request: Request, visitor: VisitorDep) -> Response:
    """Switch the ed25519 (``v1a``) signatures on or off."""
    form = await request.form()
    enabled = AsymmetricSigning(enabled=_text(form, "enabled") == "true")
    await accounts.set_asymmetric_signing(runtime_of(request), visitor.account, enabled)
    return RedirectResponse("/settings?saved=1", status_code=303)


@router.post("/settings/operational-webhook")
async def operational_webhook(request: Request, visitor: VisitorDep) -> Response:
    """The webhook that receives the account's operational events (empty: none)."""
    form = await request.form()
    chosen = OperationalWebhookIn(webhook=_text(form, "webhook") or None)
    try:
        await webhooks.set_operational_webhook(runtime_of(request), visitor.account, chosen)
    except FlowhookError as exc:
        errors = {"operational_webhook": exc.message}
        return await _page(request, visitor, errors=errors, status_code=status_of(exc))
    return RedirectResponse("/settings?saved=1", status_code=303)


@router.post("/settings/operational-email")
async def set_operational_email(request: Request, visitor: VisitorDep) -> Response:
    """The e-mail address told the account's operational events (empty: none)."""
    form = await request.form()
    try:
        chosen = OperationalEmailIn.model_validate({"email": _text(form, "email").strip() or None})
    except ValidationError:
        errors = {"operational_email": "not an e-mail address"}
        return await _page(request, visitor, errors=errors, status_code=422)
    await operational_email.set_operational_email(runtime_of(request), visitor.account, chosen)
    return RedirectResponse("/settings?saved=1", status_code=303)


@router.post("/settings/retention")
async def retention(request: Request, visitor: VisitorDep) -> Response:
    """Days to keep finished executions and deliveries (empty: the server's default)."""
    form = await request.form()
    days = _text(form, "retention_days").strip()
    try:
        parsed = RetentionIn.model_validate({"days": days or None})
    except ValidationError as exc:
        errors = _field_errors(exc, "retention_days")
        return await _page(request, visitor, errors=errors, status_code=422)
    await accounts.set_retention(runtime_of(request), visitor.account, parsed)
    return RedirectResponse("/settings?saved=1", status_code=303)


@router.post("/settings/users")
async def add_user(request: Request, visitor: VisitorDep) -> Response:
    form = await request.form()
    try:
        new = NewUser.model_validate(
            {"email": _text(form, "email"), "role": _text(form, "role") or "viewer"}
        )
        created = await users.create(runtime_of(request), visitor.account, new)
    except ValidationError as exc:
        user_errors = {
            str(e["loc"][0]): str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors(include_url=False)
        }
        return await _page(request, visitor, user_errors=user_errors, status_code=422)
    except FlowhookError as exc:
        return await _page(
            request, visitor, user_errors={"email": exc.message}, status_code=status_of(exc)
        )
    return await _page(request, visitor, created=created)


@router.post("/settings/users/{user_id}/delete")
async def remove_user(request: Request, user_id: str, visitor: VisitorDep) -> Response:
    await users.delete(runtime_of(request), visitor, user_id)
    return RedirectResponse("/settings", status_code=303)
