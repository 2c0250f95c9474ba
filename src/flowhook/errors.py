"""The small exception hierarchy: each error carries a stable ``code`` that the API turns into
``{"error": {"code", "message", "details"}}`` with the error's HTTP status."""

from __future__ import annotations

from typing import Any


class FlowhookError(Exception):
    """Base of every error we raise on purpose."""

    code = "ERROR"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(FlowhookError):
    code = "VALIDATION_FAILED"
    status = 422


class BadRequest(FlowhookError):
    code = "BAD_REQUEST"
    status = 400


class Unauthorized(FlowhookError):
    code = "UNAUTHORIZED"
    status = 401


class Forbidden(FlowhookError):
    code = "FORBIDDEN"
    status = 403


class NotFound(FlowhookError):
    code = "NOT_FOUND"
    status = 404


class Conflict(FlowhookError):
    code = "CONFLICT"
    status = 409


class Gone(FlowhookError):
    """What was asked for existed but is no more (an expired short link)."""

    code = "GONE"
    status = 410


class PayloadTooLarge(FlowhookError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413


class WidgetError(FlowhookError):
    """A widget could not run with the configuration and variables it was given."""

    code = "WIDGET_ERROR"
    status = 422


class WorkerCrashed(FlowhookError):
    """An execution's runs crashed or hung every worker that took it on: it is failed with
    this code instead of being run again (a poison pill must not take the workers down)."""

    code = "WORKER_CRASHED"
    status = 500


class NulNotAllowed(ValidationFailed):
    """Text with a NUL character: PostgreSQL cannot store it, so no engine accepts it."""

    code = "NUL_NOT_ALLOWED"


class InvalidText(ValidationFailed):
    """Text with a lone UTF-16 surrogate (``"\\ud800"`` in JSON): not Unicode, not storable."""

    code = "INVALID_TEXT"


class NestedTooDeep(ValidationFailed):
    """A document nested deeper than a parser may be asked to go."""

    code = "NESTED_TOO_DEEP"


class YamlAliasForbidden(ValidationFailed):
    """A YAML flow document with an anchor or an alias: an alias repeats a whole sub-tree,
    so a small body could expand to a huge flow."""

    code = "YAML_ALIAS_FORBIDDEN"


class FlowTooLarge(PayloadTooLarge):
    """A flow whose stored JSON would be larger than ``Settings.flow_max_bytes``."""

    code = "FLOW_TOO_LARGE"


class StateNotStorable(FlowhookError):
    """An execution's state held a value that could not be stored (not JSON, or nested too
    deep): the execution is failed with this code instead of crashing its worker again."""

    code = "STATE_NOT_STORABLE"
    status = 500


class TooManyRequests(FlowhookError):
    """Refused for now: too many tries in a short time (failed console sign-ins)."""

    code = "TOO_MANY_REQUESTS"
    status = 429
