"""The webhook widget: call any API mid-flow, map its response into flow variables, and
leave by exit ``0`` (success) or ``1`` (failure).

The target is a saved webhook (by id or name) or ``"custom"`` with its own request. A
saved webhook whose URL is the platform's internal-webhook endpoint runs the chosen
internal ``method`` in-process. With ``wait_for_response: false`` the call becomes a
durable delivery (signed, retried) and the flow moves on at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from yarl import URL

from flowhook.domain.message import ErrorReason, HttpResult, OutgoingRequest
from flowhook.domain.request_spec import RequestSpec
from flowhook.engine.context import StepContext
from flowhook.engine.flow import CompiledFlow, Problem
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig, register
from flowhook.errors import Code, FlowhookError
from flowhook.webhooks.client import HttpClient
from flowhook.webhooks.directory import SavedTarget, WebhookDirectory
from flowhook.webhooks.mapping import MappingError, apply_response_map, parse_response
from flowhook.webhooks.outbox import FireAndForget
from flowhook.webhooks.outcome import response_variables, widget_result_names
from flowhook.webhooks.outgoing import NewDelivery
from flowhook.webhooks.payload import default_payload
from flowhook.webhooks.request import Target, build_request, fixed_target
from flowhook.widgets._fields import WritableVariable

LOGGED_BODY_CHARS = 2_000
PERSISTED_BODY_CHARS = 64_000


class MapEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    optional: bool = False


class WebhookConfig(WidgetConfig):
    webhook: str = "custom"
    """A saved webhook's id or name, or ``custom`` for the request below."""
    request: RequestSpec | None = None
    method: str | None = None
    """The internal method, when the saved webhook is the internal-webhook endpoint."""
    wait_for_response: bool = True
    response_map: dict[WritableVariable, str | MapEntry] = Field(default_factory=dict)
    persist_response: bool = False
    """Keep the whole response body (up to 64 KB) in the step log, not only an excerpt."""

    @model_validator(mode="after")
    def _target(self) -> WebhookConfig:
        if self.webhook == "custom" and self.request is None:
            raise ValueError("a custom webhook needs a 'request' (method, url, …)")
        if self.webhook != "custom" and self.request is not None:
            raise ValueError("'request' is only for webhook 'custom'; a saved one has its own")
        if self.method is not None and self.webhook == "custom":
            raise ValueError("'method' names an internal method of a saved internal webhook")
        return self


def _response_map(config: WebhookConfig) -> dict[str, Any]:
    return {
        name.removeprefix("$"): (
            entry if isinstance(entry, str) else {"path": entry.path, "optional": entry.optional}
        )
        for name, entry in config.response_map.items()
    }


def _excerpt(body: bytes | None, chars: int) -> str | None:
    if not body:
        return None
    return body[: chars * 4].decode("utf-8", errors="replace")[:chars]


@register
class WebhookWidget(Widget[WebhookConfig]):
    type = "webhook"
    Config = WebhookConfig
    side_effect: ClassVar[bool] = True

    def __init__(self, widget_id: str, config: WebhookConfig) -> None:
        super().__init__(widget_id, config)
        # Made once per flow version (the catalog keeps compiled flows), not on every call:
        # the response map as ``apply_response_map`` reads it, and a custom request's target
        # (URL, query, auth, headers) when it refers to no variable.
        self._response_map = _response_map(config)
        self._fixed = fixed_target(config.request) if config.request is not None else None

    @classmethod
    def exit_names(cls, config: WebhookConfig) -> set[str]:
        return {"0", "1"}

    async def run(self, ctx: StepContext) -> Outcome:
        config = self.config
        saved: SavedTarget | None = None
        fixed: Target | None = self._fixed
        if config.webhook == "custom":
            assert config.request is not None
            spec = config.request
        else:
            directory = ctx.services.get(WebhookDirectory)
            saved = await directory.target(ctx.account.id, config.webhook)
            if saved is None:
                return self._failed(
                    ctx, Code.WEBHOOK_NOT_FOUND, f"no saved webhook {config.webhook!r}"
                )
            spec, fixed = saved.sending.spec, saved.sending.fixed
            stage = _internal_stage(spec.url)
            if stage is not None:
                return await self._internal(ctx, stage)

        payload: dict[str, Any] | None = None
        if config.webhook != "custom" and spec.body_type == "NONE":
            # a saved webhook's NONE is the default payload, as for flow-complete; a custom
            # request's NONE is no body at all (a GET, a call without data)
            payload = default_payload(ctx.state, timezone=ctx.account.timezone)
        request, missing = build_request(spec, ctx.lookup, default_payload=payload, target=fixed)
        ctx._note_missing(missing)
        ctx.log["request"] = {
            "method": request.method,
            "url": request.redacted_url(),
            "headers": request.redacted_headers(),
            "body": _excerpt(request.body, LOGGED_BODY_CHARS),
        }
        if not config.wait_for_response:
            await self._enqueue(ctx, request, saved, spec)
            self._set_results(ctx, _queued_variables())
            return Exit("0")

        result = await ctx.services.get(HttpClient).send(
            request, http_enabled=ctx.account.http_enabled
        )
        reason: ErrorReason | None = None
        mapped: dict[str, Any] = {}
        if result.ok and config.response_map:
            try:
                settings = ctx.settings
                parsed = parse_response(
                    result.body,
                    result.headers.get("Content-Type", ""),
                    settings.response_map_max_depth,
                )
                mapped, missing_paths = apply_response_map(
                    parsed, self._response_map, settings.response_map_max_bytes
                )
                if missing_paths:
                    reason = ErrorReason.MAPPING_FAILED
                    ctx.warn(f"response has no {', '.join(missing_paths)}")
            except MappingError as exc:
                reason = ErrorReason.MAPPING_FAILED
                ctx.warn(exc.message)
        variables = response_variables(
            result, ctx.settings.response_raw_max_chars, error_reason=reason
        )
        ctx.log["response"] = self._logged_response(result)
        self._set_results(ctx, variables)
        if reason is None:
            for name, value in mapped.items():
                ctx.set(name, value)
        return Exit("0" if variables["flow.key.response_status"] == "SUCCESS" else "1")

    def _logged_response(self, result: HttpResult) -> dict[str, Any]:
        chars = PERSISTED_BODY_CHARS if self.config.persist_response else LOGGED_BODY_CHARS
        return {
            "status": result.status,
            "duration_ms": round(result.duration_s * 1000, 3),
            "content_type": result.headers.get("Content-Type"),
            "body": _excerpt(result.body, chars),
            "error_reason": result.error_reason.value if result.error_reason else None,
            "error_message": result.error_message,
        }

    async def _internal(self, ctx: StepContext, stage: str) -> Outcome:
        from flowhook.internal import InternalMethodError, invoke

        if not self.config.method:
            return self._failed(
                ctx, Code.INVALID_PARAMETERS, "an internal webhook needs a 'method' in the widget"
            )
        started = time.perf_counter()
        ctx.log["internal"] = {"method": self.config.method, "stage": stage}
        try:
            await invoke(self.config.method, ctx, stage)
        except InternalMethodError as exc:
            return self._failed(ctx, exc.code, exc.message, time.perf_counter() - started)
        except FlowhookError as exc:
            return self._failed(ctx, exc.code, exc.message, time.perf_counter() - started)
        ok = HttpResult(status=200, duration_s=time.perf_counter() - started)
        self._set_results(ctx, response_variables(ok, ctx.settings.response_raw_max_chars))
        return Exit("0")

    async def _enqueue(
        self,
        ctx: StepContext,
        request: OutgoingRequest,
        saved: SavedTarget | None,
        spec: RequestSpec,
    ) -> None:
        """A durable fire-and-forget call: a delivery row, idempotent if the step replays,
        written on its own at the execution's clock. A saved webhook's delivery goes where
        the webhook points at each attempt."""
        state = ctx.state
        ctx.log["delivery"] = await ctx.services.get(FireAndForget).add(
            NewDelivery(
                f"widget:{state.uuid}:{self.id}:{state.step_count}",
                request,
                account_id=ctx.account.id,
                execution_uuid=state.uuid,
                webhook=saved.webhook if saved is not None else None,
                now=ctx.now(),
                target=spec,
                lookup=ctx.lookup,
                contact=state.contact,
            )
        )

    def _failed(
        self, ctx: StepContext, reason: Code, message: str, duration: float = 0.0
    ) -> Outcome:
        ctx.warn(message)
        self._set_results(
            ctx,
            {
                "flow.key.response_status": "FAILED",
                "flow.key.response_status_code": None,
                "flow.key.response_status_type": None,
                "flow.key.response_duration": round(duration, 3),
                "flow.key.response_raw": None,
                "flow.key.response_error": True,
                "flow.key.error_reason": reason,
            },
        )
        return Exit("1")

    @staticmethod
    def _set_results(ctx: StepContext, values: dict[str, Any]) -> None:
        """The call's results: as the shared ``$flow.key.response_*`` (the last call's),
        and again under this widget's own names, which no later call overwrites."""
        # names known to be writable ``flow.key.*`` ones: put as they are, no checks
        for name, value in values.items():
            ctx.put(name, value)
        for shared, own in widget_result_names(ctx.widget_id):
            if shared in values:
                ctx.put(own, values[shared])


def missing_saved_webhooks(
    flow: CompiledFlow, absent_of: Callable[[set[str]], set[str]]
) -> list[Problem]:
    """A ``WEBHOOK_NOT_FOUND`` problem per webhook widget of the flow that names a saved
    webhook the account does not have (``absent_of``: the caller's query of the refs that
    name none, in its own transaction). Saving such a flow only warns (the webhook may be
    added later); publishing it is refused, so prod never runs into it unnoticed."""
    refs = {
        widget_id: widget.config.webhook
        for widget_id, widget in flow.widgets.items()
        if isinstance(widget, WebhookWidget) and widget.config.webhook != "custom"
    }
    absent = absent_of(set(refs.values()))
    return [
        Problem(
            f"$.widgets.{widget_id}.webhook",
            f"no saved webhook {ref!r} in this account: the widget leaves by exit 1 "
            "(WEBHOOK_NOT_FOUND) until it exists",
            Code.WEBHOOK_NOT_FOUND,
            widget_id,
        )
        for widget_id, ref in refs.items()
        if ref in absent
    ]


def _queued_variables() -> dict[str, Any]:
    return {
        "flow.key.response_status": "SUCCESS",
        "flow.key.response_status_code": None,
        "flow.key.response_status_type": None,
        "flow.key.response_duration": 0.0,
        "flow.key.response_raw": None,
        "flow.key.response_error": False,
        "flow.key.error_reason": None,
    }


def _internal_stage(url: str) -> Literal["prod", "test"] | None:
    try:
        path = URL(url).path
    except ValueError:
        return None
    from flowhook.internal import INTERNAL_PATH

    match = INTERNAL_PATH.search(path)
    if match is None:
        return None
    return "test" if match.group(1) == "test" else "prod"
