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
