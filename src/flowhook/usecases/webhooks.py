"""The webhook registry ("Advanced → Webhook"): add, list, read, replace, delete, and
check — the button with the green tick — a saved webhook or a form not saved yet.

The registry's rules live here: a name is unique in its account (and names no other
webhook's id: a widget may target a webhook by either), a webhook a flow uses (or that
receives the account's operational events) cannot be deleted, a replaced webhook's pending
deliveries go to its new endpoint, and enabling a disabled webhook resumes its
deliveries. Every change drops the caches that hold the account's webhooks (the
flow-complete default, the widgets' directory).

The forms keep the names the API's OpenAPI document has always published them under
(``WebhookIn``, ``CheckIn``): a schema's name there is its class's name.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.domain.credentials import REDACTED, seal_request, unseal_request
from flowhook.domain.request_spec import BasicAuth, RequestSpec
from flowhook.errors import Code, Conflict, NotFound, ValidationFailed
from flowhook.runtime import Runtime
from flowhook.store import accounts as account_repo
from flowhook.store import deliveries as delivery_repo
from flowhook.store import webhook_health as health_repo
from flowhook.store import webhook_stats as stats_repo
from flowhook.store import webhooks as webhook_repo
from flowhook.store.notify import Work, notify
from flowhook.store.webhooks import SavedWebhook as SavedWebhook  # what pages render
from flowhook.webhooks.check import check_webhook
from flowhook.webhooks.client import HttpClient
from flowhook.webhooks.directory import WebhookDirectory
from flowhook.webhooks.ordering import VARIABLE, OrderedBy
from flowhook.webhooks.outbox import target_endpoint

MAX_RATE_LIMIT = 10_000.0
"""The highest rate limit (deliveries per second) a webhook may have."""
MAX_IN_FLIGHT = 1_000
"""The highest concurrency limit a webhook may have."""


_REGISTRY_FIELDS = {
    "name",
    "is_default",
    "rate_limit",
    "max_in_flight",
    "ordered_by",
    "order_variable",
}


class _Form(RequestSpec):
    """A request spec with the registry's fields beside it."""

    rate_limit: float | None = Field(
        default=None,
        gt=0,
        le=MAX_RATE_LIMIT,
        description="At most this many deliveries per second to this webhook, across every"
        " worker (the excess waits its turn; null: no limit).",
    )
    max_in_flight: int | None = Field(
        default=None,
        ge=1,
        le=MAX_IN_FLIGHT,
        description="At most this many deliveries to this webhook in flight at once, across"
        " every worker (null: no limit).",
    )

    ordered_by: OrderedBy | None = Field(
        default=None,
        description="Send the deliveries with the same key one at a time, in creation"
        " order: the key is the execution's contact number (contact), the execution"
        " (execution) or the value of the flow variable order_variable (variable). A"
        " failing delivery holds back the later ones of its key only (null: not ordered).",
    )
    order_variable: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^\$?[A-Za-z_][A-Za-z0-9_.\-]*$",
        description="With ordered_by variable: the variable whose value is the key, e.g."
        " flow.key.order_id.",
    )

    @model_validator(mode="after")
    def _variable_named(self) -> _Form:
        if (self.ordered_by == VARIABLE) != (self.order_variable is not None):
            raise ValueError("order_variable is given with ordered_by 'variable', and only then")
        return self

    def spec(self) -> RequestSpec:
        """The request alone, as it is sent and stored."""
        return RequestSpec.model_validate(self.model_dump(exclude=_REGISTRY_FIELDS))

    def ordering(self, kept: webhook_repo.Ordering = (None, None)) -> webhook_repo.Ordering:
        """The ordering given; left out (not even ``null``), ``kept``'s."""
        if "ordered_by" not in self.model_fields_set:
            return kept
        return self.ordered_by, self.order_variable.lstrip("$") if self.order_variable else None

    def limits(self, kept: webhook_repo.Limits = (None, None)) -> webhook_repo.Limits:
        """The limits given; one left out (not even ``null``) is ``kept``'s: a form that
        does not show them (the console's) does not lift them."""
        given = self.model_fields_set
        return (
            self.rate_limit if "rate_limit" in given else kept[0],
            self.max_in_flight if "max_in_flight" in given else kept[1],
        )


class WebhookIn(_Form):
    """A saved webhook: a request spec with a name and the default flag."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    is_default: bool = False


class CheckIn(_Form):
    """What the check button sends: the same form as a save, the name optional (a
    configuration is often checked before it has one). Only the request is checked."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    is_default: bool = False


class CheckResult(BaseModel):
    """One check's outcome; a saved webhook keeps its last one (``last_check``)."""

    ok: bool
    status_code: int | None
    duration_ms: float
    error_reason: str | None
    error_message: str | None = None  # what went wrong, in words (none before it was kept)
    checked_at: float


def _found(saved: SavedWebhook | None, webhook_id: str) -> SavedWebhook:
    if saved is None:
        raise NotFound(f"no webhook {webhook_id}", code=Code.WEBHOOK_NOT_FOUND)
    return saved


def _claim_name(conn: Connection, account_id: str, name: str, *, owner: str | None = None) -> None:
    """WEBHOOK_NAME_TAKEN unless ``name`` is free in the account or already ``owner``'s."""
    other = webhook_repo.get(conn, account_id, name)
    if other is not None and other.id != owner:
        raise Conflict(f"a webhook named {name!r} exists already", code=Code.WEBHOOK_NAME_TAKEN)


def _forget(rt: Runtime, account_id: str) -> None:
    """Drop the cached copies of the account's webhooks: the next flow sees the change."""
    rt.flow_complete.forget(account_id)
    rt.services.get(WebhookDirectory).forget(account_id)


async def create(rt: Runtime, account: Account, form: WebhookIn) -> SavedWebhook:
    spec, now = form.spec(), rt.now()

    def write(conn: Connection) -> SavedWebhook:
        _claim_name(conn, account.id, form.name)
        return webhook_repo.create(
            conn,
            account.id,
            form.name,
            spec,
            form.is_default,
            rt.cipher,
            now,
            form.limits(),
            form.ordering(),
        )

    saved = await rt.store.write(write)
    _forget(rt, account.id)
    return saved


async def refuse_taken_name(
    rt: Runtime, account: Account, name: str, *, owner: str | None = None
) -> None:
    """WEBHOOK_NAME_TAKEN before a save, so that a form refused for other fields says this
    too in the same answer; :func:`create` and :func:`replace` still check as they write."""
    await rt.store.read(lambda c: _claim_name(c, account.id, name, owner=owner))


async def list_all(rt: Runtime, account: Account) -> list[SavedWebhook]:
    """The account's webhooks, oldest first."""
    return await rt.store.read(lambda c: webhook_repo.list_for(c, account.id))


async def get(rt: Runtime, account: Account, webhook_id: str) -> SavedWebhook:
    """By id, or by name (as a webhook widget names its target)."""
    saved = await rt.store.read(lambda c: webhook_repo.get(c, account.id, webhook_id))
    return _found(saved, webhook_id)


STATS_WINDOW_S = 24 * 3600.0
DISABLED_GONE, DISABLED_FAILING_TOO_LONG = health_repo.GONE, health_repo.FAILING_TOO_LONG
"""Why a webhook was disabled (``health.disabled_reason``): a 410 Gone, or failing too long."""


async def get_with_stats(rt: Runtime, account: Account, webhook_id: str) -> dict[str, Any]:
    """The webhook as the API shows it, with its attempts of the last 24 h: count, success
    rate, p50/p99 latency (from the per-bucket rollup, not the attempts themselves)."""
    since = rt.now() - STATS_WINDOW_S

    def read(conn: Connection) -> tuple[SavedWebhook | None, dict[str, Any]]:
        saved = webhook_repo.get(conn, account.id, webhook_id)
        stats = stats_repo.summary(conn, saved.id, since) if saved is not None else {}
        return saved, stats

    saved, stats = await rt.store.read(read)
    return {**_found(saved, webhook_id).to_api(), "stats": {"window_s": STATS_WINDOW_S, **stats}}


async def list_with_stats(
    rt: Runtime, account: Account
) -> list[tuple[SavedWebhook, dict[str, Any]]]:
    """The account's webhooks, each with its statistics of the last 24 h (what
    :func:`get_with_stats` answers for one), in one read."""
    since = rt.now() - STATS_WINDOW_S

    def read(conn: Connection) -> list[tuple[SavedWebhook, dict[str, Any]]]:
        saved = webhook_repo.list_for(conn, account.id)
        return [(w, dict(stats_repo.summary(conn, w.id, since))) for w in saved]

    return await rt.store.read(read)


async def enable(rt: Runtime, account: Account, webhook_id: str) -> dict[str, Any]:
    """Enable a disabled webhook: HEALTHY again, its kept deliveries due now, each with a
    fresh retry schedule (``resumed`` says how many). Enabling one that is not disabled
    changes nothing."""
    now = rt.now()

    def write(conn: Connection) -> tuple[SavedWebhook, int]:
        current = _found(webhook_repo.get(conn, account.id, webhook_id), webhook_id)
        resumed = health_repo.enable(conn, account.id, current.id, now)
        if resumed:
            notify(conn, Work.DELIVERIES)  # the workers of other processes claim them now
        saved = webhook_repo.get(conn, account.id, current.id)
        assert saved is not None
        return saved, resumed or 0

    saved, resumed = await rt.store.write(write)
    _forget(rt, account.id)
    if resumed:
        rt.deliveries.nudge()
    return {**saved.to_api(), "resumed": resumed}


class OperationalWebhookIn(BaseModel):
    """The webhook (id or name) that receives the account's operational events; null for
    none."""

    model_config = ConfigDict(extra="forbid", strict=True)  # a name is text, never 42

    webhook: str | None = Field(max_length=100)


async def operational_webhook(rt: Runtime, account: Account) -> SavedWebhook | None:
    def read(conn: Connection) -> SavedWebhook | None:
        webhook_id = health_repo.ops_webhook_id(conn, account.id)
        return webhook_repo.get(conn, account.id, webhook_id) if webhook_id else None

    return await rt.store.read(read)


async def set_operational_webhook(
    rt: Runtime, account: Account, form: OperationalWebhookIn
) -> SavedWebhook | None:
    """Name the webhook for operational events (WEBHOOK_NOT_FOUND if it does not exist)."""
    ref = form.webhook

    def write(conn: Connection) -> SavedWebhook | None:
        saved = _found(webhook_repo.get(conn, account.id, ref), ref) if ref else None
        health_repo.set_ops_webhook(conn, account.id, saved.id if saved else None)
        return saved

    return await rt.store.write(write)


async def replace(rt: Runtime, account: Account, webhook_id: str, form: WebhookIn) -> SavedWebhook:
    """Replace a webhook; its pending deliveries are sent to the new endpoint from their
    next attempt (they count there for the per-endpoint limits and the circuit breaker)."""
    spec, now = form.spec(), rt.now()
    endpoint = target_endpoint(spec.url)

    def write(conn: Connection) -> SavedWebhook:
        current = _found(webhook_repo.get(conn, account.id, webhook_id), webhook_id)
        _claim_name(conn, account.id, form.name, owner=current.id)
        saved = webhook_repo.replace(
            conn,
            account.id,
            current.id,
            form.name,
            spec,
            form.is_default,
            rt.cipher,
            now,
            form.limits((current.rate_limit, current.max_in_flight)),
            form.ordering((current.ordered_by, current.order_variable)),
        )
        if saved is not None and endpoint is not None:
            delivery_repo.retarget(conn, account.id, current.id, endpoint)
        return _found(saved, webhook_id)

    saved = await rt.store.write(write)
    _forget(rt, account.id)
    return saved


async def delete(rt: Runtime, account: Account, webhook_id: str) -> None:
    """Delete a webhook no flow uses (WEBHOOK_IN_USE names the flows that do)."""

    def write(conn: Connection) -> None:
        current = _found(webhook_repo.get(conn, account.id, webhook_id), webhook_id)
        users = webhook_repo.flows_using(conn, account.id, current)
        if users:
            raise Conflict(
                f"webhook {current.name!r} is used by flows: {', '.join(users)}",
                code=Code.WEBHOOK_IN_USE,
                details={"flows": users},
            )
        if health_repo.ops_webhook_id(conn, account.id) == current.id:
            raise Conflict(
                f"webhook {current.name!r} receives the account's operational events: "
                "name another one (or none) first",
                code=Code.WEBHOOK_IN_USE,
                details={"flows": [], "operational": True},
            )
        webhook_repo.remove(conn, account.id, current.id)

    await rt.store.write(write)
    _forget(rt, account.id)


async def _check(rt: Runtime, account: Account, spec: RequestSpec) -> dict[str, Any]:
    keyring = await rt.store.read(lambda c: account_repo.signing_keyring(c, account.id, rt.cipher))
    http = rt.services.get(HttpClient)
    secrets = keyring.valid_at(rt.now())  # signed as a delivery is, overlap included
    return await check_webhook(
        http,
        account,
        spec,
        signing_secret=secrets,
        password=None,
        private_key=keyring.private_key,
    )


async def check(rt: Runtime, account: Account, form: CheckIn) -> CheckResult:
    """Check a configuration before saving it: one real request, nothing stored."""
    return CheckResult.model_validate(await _check(rt, account, form.spec()))


async def check_saved(rt: Runtime, account: Account, webhook_id: str) -> CheckResult:
    """Check a saved webhook; the result and its time are kept on it (``last_check``)."""
    saved = await get(rt, account, webhook_id)
    result = CheckResult.model_validate(await _check(rt, account, saved.real_spec(rt.cipher)))
    await rt.store.write(lambda c: webhook_repo.record_check(c, saved.id, result.model_dump()))
    return result


async def check_changes(
    rt: Runtime, account: Account, webhook_id: str, form: CheckIn
) -> CheckResult:
    """Check an edited, not yet saved, form of a saved webhook (nothing is stored): a
    secret sent back as ``***`` and a basic-auth password left out are the saved ones, as
    :func:`replace` would keep them."""
    saved = await get(rt, account, webhook_id)
    data = form.spec().model_dump(mode="json")
    password = data["auth"].pop("password", None) if data["auth"]["type"] == "basic" else None
    public, values = seal_request(data, saved.secret_values(rt.cipher))
    real = unseal_request(public, values)
    if real["auth"]["type"] == "basic":
        if password in (None, REDACTED) and isinstance(saved.spec.auth, BasicAuth):
            password = saved.password_plain(rt.cipher)
        real["auth"] = {**real["auth"], "password": password}
    return CheckResult.model_validate(await _check(rt, account, RequestSpec.model_validate(real)))


HTTP_ADVICE = (
    "plain http:// is not enabled for this account: use an https:// URL, or ask your "
    "operator to enable HTTP for the account (flowhook account set-http ACCOUNT true)"
)


def refuse_plain_http(account: Account, url: str) -> None:
    """HTTP_NOT_ENABLED (at ``$.url``) for a plain-http URL of an account without HTTP.

    The console saves nothing its account could not call; the API still saves such a
    webhook (its deliveries fail with HTTP_DISABLED until the operator enables HTTP). An
    internal webhook's URL runs in-process, so it needs no HTTP. It takes the URL alone: a
    form refused for other fields says this too, in the same answer."""
    url = url.strip()
    if account.http_enabled or not url.lower().startswith("http://"):
        return
    # imported here: `flowhook run` loads this module but not the internal methods
    from flowhook.internal.methods import INTERNAL_PATH

    path = url.split("?", 1)[0].split("#", 1)[0]
    if INTERNAL_PATH.search(path):
        return
    raise ValidationFailed(
        HTTP_ADVICE, code=Code.HTTP_NOT_ENABLED, details=[{"path": "$.url", "message": HTTP_ADVICE}]
    )


def internal_urls(rt: Runtime) -> dict[str, str]:
    """The internal webhook's URLs on this server, by stage, ready to paste."""
    base = rt.settings.base_url.rstrip("/")
    return {stage: f"{base}/centraloutboundwebhook-v1/{stage}/" for stage in ("prod", "test")}
