"""The HTTP status each kind of error answers with, for the two routers that answer HTTP:
the JSON API (``api/``) and the console (``ui/``). The core's errors carry no status."""

from __future__ import annotations

from flowhook.errors import (
    BadRequest,
    Conflict,
    FlowhookError,
    Forbidden,
    Gone,
    NotFound,
    PayloadTooLarge,
    StateNotStorable,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
    WidgetError,
    WorkerCrashed,
)
from flowhook.internal.methods import InternalMethodError
from flowhook.webhooks.guard import BlockedRequest
from flowhook.webhooks.mapping import MappingError
from flowhook.worker.runner import LeaseLost

STATUS: dict[type[FlowhookError], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    PayloadTooLarge: 413,
    ValidationFailed: 422,
    WidgetError: 422,
    BlockedRequest: 422,
    MappingError: 422,
    InternalMethodError: 422,
    WorkerCrashed: 500,
    StateNotStorable: 500,
    LeaseLost: 500,
    TooManyRequests: 429,
}
"""The HTTP status each kind of error answers with; the nearest class in an error's MRO
decides (``FlowTooLarge`` is a ``PayloadTooLarge``: 413). The core's errors carry no status:
which one they answer with is the choice of the routers (the API and the console)."""


def status_of(error: FlowhookError) -> int:
    """The HTTP status ``error`` answers with: 400 for an error no entry of STATUS covers."""
    for kind in type(error).__mro__:
        status = STATUS.get(kind)
        if status is not None:
            return status
    return 400
