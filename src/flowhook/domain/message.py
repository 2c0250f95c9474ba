"""The request we send, the result we got and the attempt the delivery log keeps: shared by
the webhook widget, the check button, deliveries and internal methods. ``ErrorReason`` is
the part of the error registry (``flowhook.errors.Code``) a call can end with."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypedDict

from flowhook.domain.credentials import redact_headers, redact_url
from flowhook.errors import Code


class ErrorReason(StrEnum):
    """Stable values of ``$flow.key.error_reason`` and of a delivery attempt's error."""

    HTTP_DISABLED = Code.HTTP_DISABLED
    BLOCKED_ADDRESS = Code.BLOCKED_ADDRESS
    EGRESS_DENIED = Code.EGRESS_DENIED
    INVALID_URL = Code.INVALID_URL
    INVALID_REQUEST = Code.INVALID_REQUEST
    TIMEOUT = Code.TIMEOUT
    CONNECTION_ERROR = Code.CONNECTION_ERROR
    RESPONSE_TOO_LARGE = Code.RESPONSE_TOO_LARGE
    INFORMATIONAL = Code.INFORMATIONAL
    REDIRECTION = Code.REDIRECTION
    CLIENT_ERROR = Code.CLIENT_ERROR
    SERVER_ERROR = Code.SERVER_ERROR
    MAPPING_FAILED = Code.MAPPING_FAILED
    INVALID_RESPONSE = Code.INVALID_RESPONSE
    TEMPLATE_ERROR = Code.TEMPLATE_ERROR
    INTERNAL_ERROR = Code.INTERNAL_ERROR
    WEBHOOK_NOT_FOUND = Code.WEBHOOK_NOT_FOUND


@dataclass
class OutgoingRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    timeout_s: float = 10.0

    def redacted_headers(self) -> dict[str, str]:
        """Headers safe for logs: credentials and signatures hidden (``credentials.py``)."""
        return redact_headers(self.headers)

    def redacted_url(self) -> str:
        """The URL safe for logs: user-info and secret query values hidden."""
        return redact_url(self.url)


class AttemptRecord(TypedDict):
    """One delivery attempt as the delivery log stores and shows it (credentials hidden)."""

    at: float
    url: str | None  # None: nothing was sent (its saved webhook was deleted)
    status_code: int | None
    duration_ms: float
    request_headers: dict[str, str]
    response_excerpt: str | None
    error_reason: str | None
    error_message: str | None


@dataclass
class HttpResult:
    """What came back (or why nothing did). ``status`` is None when no response arrived."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    duration_s: float = 0.0
    error_reason: ErrorReason | None = None
    error_message: str | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.error_reason is None and self.status is not None and 200 <= self.status < 300
