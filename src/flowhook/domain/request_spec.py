"""The external schema of a webhook call: what the webhook registry API saves and what the
webhook widget's "custom" target holds (spec §5.4.3). Templates (``$flow.key.x``) are kept as
written here; ``request.build_request`` renders them at run time.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from yarl import URL

from flowhook.domain.references import REFERENCE

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
BodyType = Literal["NONE", "JSON", "XML", "FORM_DATA", "URL_ENCODED", "PLAIN_TEXT"]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""An HTTP header name (RFC 9110 §5.1)."""


class NoAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["none"] = "none"


class BasicAuth(BaseModel):
    """HTTP Basic (RFC 7617). ``password`` may be left out when the registry keeps it
    encrypted elsewhere and passes it to ``build_request`` at run time."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["basic"]
    username: str
    password: str | None = Field(default=None, repr=False)

    @field_validator("username")
    @classmethod
    def _no_colon(cls, value: str) -> str:
        if ":" in value:
            raise ValueError("a basic-auth username cannot contain ':' (RFC 7617)")
        return value


Auth = Annotated[NoAuth | BasicAuth, Field(discriminator="type")]


class RequestSpec(BaseModel):
    """One outgoing call as the user configured it."""

    model_config = ConfigDict(extra="forbid")

    method: Method = "POST"
    url: str
    auth: Auth = Field(default_factory=NoAuth)
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body_type: BodyType = "NONE"
    body: Any = None  # JSON-shaped template, text template or form fields: see _check_body
    timeout_s: float = Field(default=10.0, ge=1, le=60)

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("url must not be empty")
        if REFERENCE.match(value):
            return value  # starts with a variable: only known at run time
        try:
            parsed = URL(value)
        except ValueError as exc:
            raise ValueError(f"url is not a valid URL: {exc}") from None
        if parsed.scheme.lower() not in ("http", "https") or not parsed.raw_host:
            raise ValueError("url must start with http:// or https:// and name a host")
        return value

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str]) -> dict[str, str]:
        seen: set[str] = set()
        for name, header_value in value.items():
            if not _TOKEN.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in seen:
                raise ValueError(f"header {name!r} is given twice")
            seen.add(name.lower())
            if "\r" in header_value or "\n" in header_value:
                raise ValueError(f"the value of header {name!r} cannot contain line breaks")
        return value

    @field_validator("query")
    @classmethod
    def _check_query(cls, value: dict[str, str]) -> dict[str, str]:
        if any(not name for name in value):
            raise ValueError("query parameter names must not be empty")
        return value

    @model_validator(mode="after")
    def _check_body(self) -> RequestSpec:
        kind, body = self.body_type, self.body
        if kind == "NONE":
            if body not in (None, ""):
                raise ValueError("a body is not allowed when body_type is NONE")
            self.body = None
        elif kind == "JSON":
            if body is None:
                raise ValueError("body_type JSON needs a body (use NONE to send none)")
            if not isinstance(body, (dict, list, str)):
                raise ValueError("a JSON body must be an object, an array or a template string")
        elif kind in ("XML", "PLAIN_TEXT"):
            if body is None:
                self.body = ""
            elif not isinstance(body, str):
                raise ValueError(f"a {kind} body must be a string")
        else:  # FORM_DATA, URL_ENCODED
            if body is None:
                self.body = {}
            elif not isinstance(body, dict):
                raise ValueError(f"a {kind} body must be an object of field names to strings")
            else:
                for name, field_value in body.items():
                    if not isinstance(field_value, str):
                        raise ValueError(
                            f"a {kind} body must be an object of strings: field {name!r} "
                            f"is {type(field_value).__name__}"
                        )
        if isinstance(self.auth, BasicAuth) and any(
            name.lower() == "authorization" for name in self.headers
        ):
            raise ValueError("an Authorization header conflicts with basic auth; keep one")
        return self
