"""One Settings object, read once from the environment (prefix ``FLOWHOOK_``) and passed down.

No other module reads ``os.environ``: tests build a ``Settings`` with the values they need.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_HOST_NAME = re.compile(
    r"\.?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
)


def _entries(value: Any) -> Any:
    """A list from the environment: a JSON array, or comma/space separated values."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part for part in re.split(r"[,\s]+", text) if part]
    return value


EntryList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every knob of the platform, with production-minded defaults."""

    model_config = SettingsConfigDict(env_prefix="FLOWHOOK_", extra="ignore")

    database_url: str = "sqlite:///./data/flowhook.db"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # base URL for short links; defaults to http://host:port
    operator_token: str = ""
    secret_key: str = ""  # Fernet key (urlsafe base64, 32 bytes) for secrets at rest
    data_dir: Path = Path("./data")

    # outgoing calls
    allow_private_targets: bool = False
    webhook_default_timeout_s: float = 10.0
    webhook_max_timeout_s: float = 60.0
    response_max_bytes: int = 1_000_000
    response_raw_max_chars: int = 4_000
    # a response value mapped into a variable (webhooks/mapping.py): nested at most this
    # deep (the response is refused while it is parsed) and, all of one call's values
    # together, at most this many bytes of JSON; beyond, the widget fails with MAPPING_FAILED
    response_map_max_depth: int = Field(64, ge=1, le=512)
    response_map_max_bytes: int = Field(256 * 1024, ge=1)
    per_host_connections: int = 100
    # egress policy (webhooks/guard.py, docs/webhooks.md#egress-policy): CIDRs and host names
    # (``.example.com`` = the domain and every name under it); deny wins, a non-empty allow
    # list lets only its targets through
    egress_allow: EntryList = Field(default_factory=list)
    egress_deny: EntryList = Field(default_factory=list)

    # proxies (CIDRs) whose X-Forwarded-For is believed (forwarded.py); none by default
    trusted_proxies: EntryList = Field(default_factory=list)

    # engine
    max_steps: int = 1_000
    max_request_bytes: int = 256 * 1024
    flow_max_bytes: int = 1_000_000  # a flow's stored JSON (docs/flows.md): 413 FLOW_TOO_LARGE
    lease_seconds: float = 30.0
    # how long a process may use its copy of a flow, an account or a saved webhook that
    # another process changed (flowhook/cache.py); a change made through this process is
    # seen at once
    cache_ttl_s: float = Field(2.0, gt=0)
    poll_interval_s: float = 0.2
    worker_concurrency: int = 1_000
    claim_batch: int = 200
    # an execution claimed more often than this since its last checkpoint (its runs crash or
    # hang the worker every time) fails with WORKER_CRASHED instead of running again
    execution_max_claims: int = Field(5, ge=1)
    time_scale: float = Field(1.0, description="multiplies every delay and back-off (tests)")
    # for `make bench`: when set, SIGUSR1 makes the process append its group-commit and claim
    # figures since start (Runtime.stats) as one JSON line to <stats_dir>/<pid>.jsonl
    stats_dir: Path | None = None

    # deliveries
    delivery_schedule_s: list[float] = Field(
        default_factory=lambda: [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    )
    delivery_endpoint_concurrency: int = 20
    delivery_max_retry_after_s: float = 36000.0
    # a rotated signing secret keeps signing deliveries this long, beside the new one
    # (a rotation may say otherwise, up to 30 days)
    signing_overlap_s: float = Field(86400.0, ge=0, le=30 * 24 * 3600.0)
    # endpoint health (webhooks/health.py): a saved webhook failing this long without a
    # success is disabled; how often a process re-reads which webhooks are not healthy, and
    # adds its attempt statistics to the database
    webhook_disable_after_s: float = Field(5 * 24 * 3600.0, gt=0)
    webhook_health_refresh_s: float = Field(1.0, gt=0)

    # retention (worker/retention.py): finished executions and deliveries older than this
    # are removed (an account may choose its own), in batches, every interval
    retention_days: int = Field(30, ge=1)
    retention_interval_s: float = Field(300.0, gt=0)
    retention_batch: int = Field(500, ge=1)
    # circuit breaker per endpoint (webhooks/breaker.py): after this many retryable failures
    # in a row, send nothing to the endpoint for a cool-down (doubling while it stays down)
    breaker_failures: int = Field(5, ge=0, description="0 turns the breaker off")
    breaker_cooldown_s: float = 30.0
    breaker_max_cooldown_s: float = 600.0
    # recover jobs (docs/webhooks.md): re-queue this many failed deliveries at a time, and
    # the next batch only once fewer than that many of the webhook's wait to be sent, so
    # new deliveries keep flowing beside a large recovery
    recover_batch: int = Field(100, ge=1, le=10_000)

    # e-mail over SMTP (channels/smtp.py): the installation's relay
    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65_535)
    smtp_starttls: bool | None = None  # None: upgrade when the server offers it
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_s: float = 30.0
    # PEM file of CA certificates the relay's certificate may also chain to (a private CA),
    # beside the system's; the certificate and its name are always verified
    smtp_ca_file: str = ""
    # the sender of operational e-mails when the account has no verified sender
    ops_mail_from: str = "flowhook@localhost"
    # the inbound SMTP endpoint for bounces (DSN) of those e-mails (channels/bounces.py);
    # 0 = off. Set the relay's bounce address to it.
    bounce_smtp_host: str = "127.0.0.1"
    bounce_smtp_port: int = Field(0, ge=0, le=65_535)

    # shortener
    short_code_length: int = 8

    # the web console (ui/, docs/console.md): served at / beside the API unless turned off
    console: bool = True
    console_session_s: float = Field(12 * 3600.0, gt=0)  # a sign-in lasts this long
    # failed sign-ins within the window: this many for one e-mail from one address, or
    # ten times as many from one address for any e-mails, and the next tries are refused
    sign_in_max_failures: int = Field(5, ge=1)
    sign_in_window_s: float = Field(15 * 60.0, gt=0)

    log_level: str = "info"
    log_json: bool = False

    @field_validator("egress_allow", "egress_deny", mode="before")
    @classmethod
    def _egress_entries(cls, value: Any) -> Any:
        entries = _entries(value)
        if isinstance(entries, list):
            for entry in entries:
                if not isinstance(entry, str) or not (_is_network(entry) or _is_name(entry)):
                    raise ValueError(
                        f"{entry!r} is neither a CIDR nor a host name (e.g. .example.com)"
                    )
            return [e if _is_network(e) else e.lower().rstrip(".") for e in entries]
        return entries

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_entries(cls, value: Any) -> Any:
        entries = _entries(value)
        if isinstance(entries, list):
            for entry in entries:
                if not isinstance(entry, str) or not _is_network(entry):
                    raise ValueError(f"{entry!r} is not an IP address or CIDR")
        return entries

    @field_validator("smtp_ca_file")
    @classmethod
    def _ca_file_exists(cls, value: str) -> str:
        """A missing CA file stops the start rather than failing every e-mail later."""
        if value and not Path(value).is_file():
            raise ValueError(f"{value!r} is not a file (FLOWHOOK_SMTP_CA_FILE)")
        return value

    @model_validator(mode="after")
    def _one_kind_of_smtp_tls(self) -> Settings:
        """Implicit TLS and a required STARTTLS exclude each other (the relay either speaks
        TLS from the first byte or upgrades a plain connection)."""
        if self.smtp_tls and self.smtp_starttls:
            raise ValueError(
                "FLOWHOOK_SMTP_TLS (implicit TLS) and FLOWHOOK_SMTP_STARTTLS=true exclude "
                "each other"
            )
        return self

    def scaled(self, seconds: float) -> float:
        """A wait as it is really slept (tests compress time with ``time_scale``)."""
        return seconds * self.time_scale

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def _is_name(entry: str) -> bool:
    return bool(_HOST_NAME.fullmatch(entry.lower().rstrip(".")))
