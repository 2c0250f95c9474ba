"""An account's channel settings: which adapter carries each channel, and the simulator's
script. Stored as JSON on the account (``accounts.channels``) and set through the account
settings API; adapter names are checked against the registry, so an account cannot choose
a carrier this installation does not have.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flowhook.channels.registry import adapter_names
from flowhook.channels.secrets import public
from flowhook.domain.request_spec import RequestSpec

CallOutcome = Literal["answer", "busy", "no_answer", "failed", "rejected"]
"""How a simulated call's ringing ends (not a widget's ``Outcome``, engine/widget.py)."""
Key = Field(pattern=r"^[0-9*#A-D]$")


class Press(BaseModel):
    """A key the simulated caller presses, ``after_ms`` after the call was answered."""

    model_config = ConfigDict(extra="forbid", strict=True)

    key: str = Key
    after_ms: int = Field(ge=0, le=86_400_000)


class VoiceScript(BaseModel):
    """How a simulated call goes: the outcome of ringing, when the callee answers, when the
    remote party hangs up and which keys it presses (times after the answer)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    outcome: CallOutcome = "answer"
    answer_after_ms: int = Field(1_000, ge=0, le=600_000)
    hangup_after_s: float | None = Field(None, ge=0, le=86_400)
    digits: list[Press] | Annotated[str, Field(pattern=r"^[0-9*#A-D]{0,100}$")] = Field(
        default_factory=list, max_length=100
    )
    """Key presses; a string (``"12#"``) is read as one key a second (always a list after
    validation)."""

    def presses(self) -> list[Press]:
        return self.digits if isinstance(self.digits, list) else []

    @field_validator("digits", mode="before")
    @classmethod
    def _digit_string(cls, value: Any) -> Any:
        """``"12#"`` is shorthand for one key a second, from a second after the answer."""
        if isinstance(value, str):
            return [{"key": key, "after_ms": 1_000 * (i + 1)} for i, key in enumerate(value)]
        return value


class SimulatorSettings(BaseModel):
    """The simulator's script for an account: per number, else drawn by probability, else
    ``default``; SMS and e-mail delivery reports per recipient, else the default ones."""

    model_config = ConfigDict(extra="forbid", strict=True)

    calls: dict[str, VoiceScript] = Field(default_factory=dict, max_length=1_000)
    outcomes: dict[CallOutcome, float] = Field(default_factory=dict)
    default: VoiceScript = Field(default_factory=VoiceScript)
    sms_reports: dict[str, str] = Field(default_factory=dict, max_length=1_000)
    sms_report: str = Field("DELIVERED", max_length=32)
    email_reports: dict[str, str] = Field(default_factory=dict, max_length=1_000)
    email_report: str = Field("DELIVERED", max_length=32)
    report_after_ms: int = Field(500, ge=0, le=3_600_000)

    @field_validator("outcomes")
    @classmethod
    def _probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        if any(p < 0 for p in value.values()):
            raise ValueError("probabilities must not be negative")
        if value and sum(value.values()) <= 0:
            raise ValueError("at least one probability must be above 0")
        return value


class KannelSettings(BaseModel):
    """Kannel's ``sendsms`` interface (smsbox) and how it reports deliveries back."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: str = Field(max_length=2_000)
    """smsbox's sendsms URL, e.g. http://127.0.0.1:13013/cgi-bin/sendsms"""
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=200)
    dlr_mask: int = Field(31, ge=0, le=31)
    report_url: str | None = Field(None, max_length=2_000)
    """The base URL Kannel reaches flowhook at (default: FLOWHOOK_PUBLIC_URL)."""
    timeout_s: float = Field(10.0, ge=1, le=60)

    @field_validator("url", "report_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class SmppSettings(BaseModel):
    """An SMS centre (SMSC) spoken to over SMPP 3.4 as a transceiver (channels/smpp.py)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(2775, ge=1, le=65_535)
    system_id: str = Field(min_length=1, max_length=15)  # SMPP 3.4: 16 octets with the NUL
    password: str = Field(min_length=1, max_length=8)  # SMPP 3.4: 9 octets with the NUL
    system_type: str = Field("", max_length=12)
    max_per_second: float | None = Field(None, gt=0, le=10_000)
    """At most this many submit_sm a second on the bind (the SMSC's contracted rate)."""
    throttle_backoff_s: float = Field(1.0, gt=0, le=300)
    """The first pause after an ESME_RTHROTTLED answer; it doubles while they go on."""
    submit_timeout_s: float = Field(60.0, ge=1, le=3_600)
    """How long a message may take to be accepted, rebinds and retries included."""
    enquire_link_s: float = Field(30.0, ge=1, le=3_600)


class HttpGatewaySettings(BaseModel):
    """Any HTTP SMS gateway: a request template whose variables are ``$sys.sms_to``,
    ``$sys.sms_from``, ``$sys.sms_text``, ``$sys.sms_id`` and ``$sys.report_url`` (where the
    gateway may send the delivery report, with ``status`` in its query or body)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    request: RequestSpec
    report_url: str | None = Field(None, max_length=2_000)


class ChannelSettings(BaseModel):
    """Which adapter carries each channel for the account (``simulator`` by default)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    voice: str = "simulator"
    sms: str = "simulator"
    email: str = "simulator"
    email_senders: list[str] = Field(default_factory=list, max_length=100)
    """Verified sender addresses: a real e-mail adapter sends only from these."""
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    kannel: KannelSettings | None = None
    http_sms: HttpGatewaySettings | None = None
    smpp: SmppSettings | None = None

    @model_validator(mode="after")
    def _known_adapters(self) -> ChannelSettings:
        for kind in ("voice", "sms", "email"):
            name = getattr(self, kind)
            known = adapter_names(kind)
            if name not in known:
                raise ValueError(f"no {kind} adapter {name!r} (adapters: {', '.join(known)})")
        if self.sms == "kannel" and self.kannel is None:
            raise ValueError("the kannel SMS adapter needs its settings under kannel")
        if self.sms == "smpp" and self.smpp is None:
            raise ValueError("the smpp SMS adapter needs its settings under smpp")
        if self.sms == "http" and self.http_sms is None:
            raise ValueError("the http SMS adapter needs its settings under http_sms")
        return self

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> ChannelSettings:
        """The settings as stored on an account (validated when they were saved), as they
        are shown: passwords ``***`` (``Channels.options`` gives adapters the real ones)."""
        return cls.model_validate(public(stored or {}))
