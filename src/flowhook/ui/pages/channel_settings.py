"""The Settings page's Channels section: which adapter carries voice, SMS and e-mail, the
verified e-mail senders, and the Kannel and SMPP gateways' settings. It saves through
``usecases.channel_settings.update``, the use case of ``PUT /v1/account/channels`` (the
egress guard and sealed passwords included). Passwords are write-only: shown as set or
not set, an empty field keeps the stored one. The simulator's script and the generic HTTP
gateway's request template are kept as they are (the API edits them). Viewers see the
section read-only (the session refuses their changes)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from flowhook.channels.config import ChannelSettings
from flowhook.channels.registry import adapter_names
from flowhook.domain.account import Account
from flowhook.domain.credentials import REDACTED
from flowhook.errors import FlowhookError
from flowhook.statuses import status_of
from flowhook.ui.app import page_router
from flowhook.ui.pages.settings import _page
from flowhook.ui.session import VisitorDep, runtime_of
from flowhook.usecases import channel_settings

router = page_router()

KINDS = ("voice", "sms", "email")
GATEWAYS: dict[str, tuple[str, ...]] = {
    "kannel": ("url", "username", "password", "dlr_mask", "report_url"),
    "smpp": ("host", "port", "system_id", "password", "system_type", "max_per_second"),
}
"""The gateway sections the form edits, and their fields (``<section>_<field>``)."""
NUMBERS = {"kannel_dlr_mask": int, "smpp_port": int, "smpp_max_per_second": float}


def view(account: Account) -> dict[str, Any]:
    """What the section shows: the adapters, the fields (passwords never), which
    passwords are set."""
    shown = channel_settings.shown(account)
    fields: dict[str, str] = {kind: shown[kind] for kind in KINDS}
    fields["email_senders"] = "\n".join(shown["email_senders"])
    password_set: dict[str, bool] = {}
    for section, names in GATEWAYS.items():
        values = shown.get(section) or {}
        for name in names:
            value = values.get(name)
            if name == "password":
                password_set[section] = value is not None
                value = None
            fields[f"{section}_{name}"] = "" if value is None else str(value)
    return {
        "fields": fields,
        "password_set": password_set,
        "adapters": {kind: adapter_names(kind) for kind in KINDS},
    }


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _settings(form: FormData, account: Account, shown: dict[str, Any]) -> dict[str, Any]:
    """The form as ``PUT /v1/account/channels`` takes it: the sections not edited here
    kept, an empty password kept (``***``), a gateway left empty and unused dropped."""
    data: dict[str, Any] = {kind: _text(form, kind) or "simulator" for kind in KINDS}
    data["email_senders"] = [
        s.strip() for s in _text(form, "email_senders").splitlines() if s.strip()
    ]
    data["simulator"] = shown["simulator"]
    if shown.get("http_sms") is not None:
        data["http_sms"] = shown["http_sms"]
    for section, names in GATEWAYS.items():
        values: dict[str, Any] = {}
        for name in names:
            key = f"{section}_{name}"
            text = _text(form, key)
            if name == "password" and not text and (shown.get(section) or {}).get(name):
                text = REDACTED  # write-only: empty keeps the stored password
            if not text:
                continue
            convert = NUMBERS.get(key)
            try:
                values[name] = convert(text) if convert else text
            except ValueError:
                values[name] = text  # the model's error says what is expected
        in_use = data["sms"] == section
        if in_use or any(v for k, v in values.items() if k != "password" or v != REDACTED):
            data[section] = values
    return data


def _errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"] if not str(part).isdigit()]
        field = "_".join(loc[:2]) if loc and loc[0] in GATEWAYS else (loc[0] if loc else "")
        errors.setdefault(f"ch_{field or 'form'}", str(error["msg"]).removeprefix("Value error, "))
    return errors


@router.post("/settings/channels")
async def save_channels(request: Request, visitor: VisitorDep) -> Response:
    form = await request.form()
    account = visitor.account
    shown = channel_settings.shown(account)
    data = _settings(form, account, shown)
    submitted = {key: _text(form, key) for key in view(account)["fields"]}
    errors: dict[str, str] = {}
    status = 422
    try:
        parsed = ChannelSettings.model_validate(data)
        await channel_settings.update(runtime_of(request), account, parsed)
    except ValidationError as exc:
        errors = _errors(exc)
    except FlowhookError as exc:
        details = exc.details if isinstance(exc.details, list) else []
        path = str(details[0].get("path", "")) if details else ""
        field = "_".join(path.removeprefix("$.channels.").split(".")[:2]) if path else "form"
        errors = {f"ch_{field}": exc.message}
        status = status_of(exc)
    if errors:
        for key in ("smpp_password", "kannel_password"):
            submitted[key] = ""  # never sent back to the browser
        return await _page(
            request, visitor, errors=errors, channel_form=submitted, status_code=status
        )
    return RedirectResponse("/settings?saved=1#h-channels", status_code=303)
