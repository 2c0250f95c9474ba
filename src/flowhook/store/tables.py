"""The schema: SQLAlchemy Core tables shared by SQLite and PostgreSQL.

Times are epoch seconds (float) so that claims compare numbers on both engines. Work that
is due lives in these tables (``due_at`` + a lease), never only in memory: a worker that
dies loses nothing, its leases simply expire.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("api_key_hash", String(64), nullable=False, unique=True),
    Column("http_enabled", Boolean, nullable=False, default=False),
    Column("ip_whitelist", JSON, nullable=False, default=list),
    Column("default_region", String(2), nullable=False, default="IN"),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("signing_secret", LargeBinary, nullable=False),  # encrypted at rest
    Column("short_token", String(64), nullable=False, unique=True),
    Column("short_domain", String(255), nullable=True, unique=True),
    # channel adapters and their options (channels/config.py); NULL = the defaults
    Column("channels", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
    # the saved webhook that receives events about the account's webhooks (webhook.failing …)
    Column("ops_webhook_id", String(36), nullable=True),
    # an e-mail address told the operational events too (worker/ops_mail.py)
    Column("ops_email", String(320), nullable=True),
    # days finished executions and deliveries are kept (None: FLOWHOOK_RETENTION_DAYS)
    Column("retention_days", Integer, nullable=True),
)

flows = Table(
    "flows",
    metadata,
    Column("flow_id", String(8), primary_key=True),
    Column("account_id", String(36), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("security_id", String(64), nullable=False, unique=True),
    Column("test_doc", JSON, nullable=False),
    Column("prod_doc", JSON, nullable=True),
    # the secret values of the docs' custom webhook widgets, encrypted (credentials.py)
    Column("test_secrets", LargeBinary, nullable=True),
    Column("prod_secrets", LargeBinary, nullable=True),
    Column("published_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_flows_account", "account_id", "created_at"),
    # one flow per name in an account: the rule itself, so two writers cannot race past it
    Index("uq_flows_account_name", "account_id", "name", unique=True),
)

executions = Table(
    "executions",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("flow_id", String(8), nullable=False),
    Column("version", String(8), nullable=False),
    Column("request_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("state", JSON, nullable=False),
    Column("due_at", Float, nullable=True),  # NULL once finished
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Column("error_reason", String(64), nullable=True),
    # leases taken by claims since the execution last made progress (a checkpoint, a wait,
    # the end): a run that keeps killing its worker shows as a count that only grows
    Column("claims", Integer, nullable=False, default=0, server_default="0"),
    # the customer number ($user.key values, the console's search by contact)
    Column("contact", String(32), nullable=True),
    Index("ix_executions_due", "due_at"),
    Index("ix_executions_account_due", "account_id", "due_at"),
    Index("ix_executions_request", "request_id"),
    # The lists (newest first, keyset on (created_at, uuid)): one index per filter, each
    # ending in the page order, so a page reads its rows and no others (docs/performance.md).
    Index("ix_executions_account_created", "account_id", "created_at", "uuid"),
    Index("ix_executions_account_flow", "account_id", "flow_id", "created_at", "uuid"),
    Index("ix_executions_account_status", "account_id", "status", "created_at", "uuid"),
    Index("ix_executions_account_contact", "account_id", "contact", "created_at", "uuid"),
    Index("ix_executions_account_request", "account_id", "request_id", "created_at", "uuid"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("spec", JSON, nullable=False),  # RequestSpec, secrets shown as *** (credentials.py)
    Column("password", LargeBinary, nullable=True),  # encrypted at rest
    Column("secrets", LargeBinary, nullable=True),  # secret headers, query, URL: encrypted
    Column("is_default", Boolean, nullable=False, default=False),
    Column("last_check", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # endpoint health (webhooks/health.py): HEALTHY, FAILING (since), DISABLED (at, why)
    Column("health", String(16), nullable=False, default="HEALTHY", server_default="HEALTHY"),
    Column("failing_since", Float, nullable=True),
    Column("disabled_at", Float, nullable=True),
    Column("disabled_reason", String(32), nullable=True),
    # limits across every worker (webhook_limits holds their state): None is no limit
    Column("rate_limit", Float, nullable=True),  # deliveries per second
    Column("max_in_flight", Integer, nullable=True),
    # ordered delivery by a key (webhooks/ordering.py): contact, execution or variable
    Column("ordered_by", String(16), nullable=True),
    Column("order_variable", String(100), nullable=True),  # with ordered_by "variable"
    UniqueConstraint("account_id", "name", name="uq_webhooks_account_name"),
    Index("ix_webhooks_health", "health"),
)

# One row per saved webhook with a rate or concurrency limit (store/webhook_limits.py):
# the limiter every worker's claim locks, its token bucket, and nothing for the others.
webhook_limits = Table(
    "webhook_limits",
    metadata,
    Column("webhook_id", String(36), primary_key=True),
    Column("rate", Float, nullable=True),  # deliveries per second
    Column("max_in_flight", Integer, nullable=True),
    Column("tokens", Float, nullable=False, default=0.0),
    Column("refilled_at", Float, nullable=False),
    # the webhook is ordered by a key: one delivery of a key in flight, in sequence order
    Column("ordered", Boolean, nullable=False, default=False, server_default=false()),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(36), primary_key=True),  # also the webhook-id header, stable
    Column("account_id", String(36), nullable=False),
    Column("execution_uuid", String(36), nullable=True),
    Column("webhook_id", String(36), nullable=True),
    Column("endpoint", String(255), nullable=False),  # host:port, for concurrency limits
    Column("request", JSON, nullable=False),  # method, url, headers (secrets as ***), body
    # encrypted: a custom target's secret headers and URL; a saved webhook's variables
    Column("secret_headers", LargeBinary, nullable=True),
    Column("status", String(16), nullable=False),  # PENDING, SUCCEEDED, FAILED
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_at", Float, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    # when the retry schedule (re)started: creation, or the last replay
    Column("schedule_started_at", Float, nullable=False),
    # an ordered webhook's deliveries: their key and their place in it (1, 2, … per key)
    Column("order_key", String(200), nullable=True),
    Column("sequence", Integer, nullable=True),
    Index("ix_deliveries_due", "due_at"),
    Index("ix_deliveries_endpoint_due", "endpoint", "due_at"),  # postponing one endpoint
    # The lists (newest first, keyset on (created_at, id)) and the recovery of failed
    # deliveries: one index per filter, each ending in the page order.
    Index("ix_deliveries_account_created", "account_id", "created_at", "id"),
    Index("ix_deliveries_account_execution", "account_id", "execution_uuid", "created_at", "id"),
    Index("ix_deliveries_account_status", "account_id", "status", "created_at", "id"),
    Index("ix_deliveries_account_webhook", "account_id", "webhook_id", "created_at", "id"),
    # each webhook's pending deliveries (metrics, a disabled webhook's parked ones)
    Index(
        "ix_deliveries_pending",
        "webhook_id",
        "created_at",
        postgresql_where=text("status = 'PENDING'"),
        sqlite_where=text("status = 'PENDING'"),
    ),
    # ordered delivery: a sequence is given once per key; "an earlier one of this key is
    # still to be sent" reads the pending rows only (the claim of an ordered webhook)
    Index(
        "uq_deliveries_order",
        "webhook_id",
        "order_key",
        "sequence",
        unique=True,
        postgresql_where=text("order_key IS NOT NULL"),
        sqlite_where=text("order_key IS NOT NULL"),
    ),
    Index(
        "ix_deliveries_order_pending",
        "webhook_id",
        "order_key",
        "sequence",
        postgresql_where=text("status = 'PENDING' AND order_key IS NOT NULL"),
        sqlite_where=text("status = 'PENDING' AND order_key IS NOT NULL"),
    ),
)

# Operational events to e-mail (webhooks/events.py writes them with the change they tell
# of; worker/ops_mail.py sends them through the account's e-mail adapter, with retries).
ops_mails = Table(
    "ops_mails",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("event", JSON, nullable=False),  # the event's body: {"type", "timestamp", "data"}
    Column("status", String(16), nullable=False),  # PENDING, SENT, FAILED
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_at", Float, nullable=True),  # NULL once finished
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_ops_mails_due", "due_at"),
    Index("ix_ops_mails_account_created", "account_id", "created_at"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(36), nullable=False),
    Column("number", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Column("url", Text, nullable=True),  # where this attempt went (secrets as ***)
    Column("status_code", Integer, nullable=True),
    Column("duration_ms", Float, nullable=False),
    Column("request_headers", JSON, nullable=False),
    Column("response_excerpt", Text, nullable=True),
    Column("error_reason", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    # the delivery's webhook, copied at insert: a webhook's chart reads its attempts of the
    # last 24 h through (webhook_id, at), however old the deliveries they retry are
    Column("webhook_id", String(36), nullable=True),
    Index("ix_attempts_delivery", "delivery_id", "number"),
    Index("ix_attempts_webhook", "webhook_id", "at"),
)

LATENCY_BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
"""Upper bounds of the attempt-latency histogram's buckets (``le_<i>``; one more, unbounded)."""

webhook_stats = Table(
    "webhook_stats",
    metadata,
    Column("webhook_id", String(36), primary_key=True),
    Column("bucket", Integer, primary_key=True),  # Unix seconds // STATS_BUCKET_S
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("successes", Integer, nullable=False, default=0, server_default="0"),
    *[
        Column(f"le_{i}", Integer, nullable=False, default=0, server_default="0")
        for i in range(len(LATENCY_BOUNDS_MS) + 1)
    ],
    Index("ix_webhook_stats_bucket", "bucket"),
)

ACTIVITY_BUCKET_S = 300
"""Seconds per ``account_activity`` bucket (``webhook_activity``: a minute)."""
ATTEMPT_BOUNDS_MS = (
    5, 10, 15, 25, 40, 60, 100, 150, 250, 400, 600, 1000, 1500, 2500, 4000, 6000, 10000, 15000,
    30000, 60000,
)  # fmt: skip
"""Upper bounds of the roll-up's attempt-latency buckets (``at_le_<i>``; one more, unbounded):
each about 1.6 times the one before."""
DURATION_BOUNDS_S = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400)
"""Upper bounds of the roll-up's execution-duration buckets (``ex_le_<i>``; one more)."""

# The last day's activity, rolled up as it is written (store/rollup.py): the home page's
# figures per account and 5-minute bucket, a webhook's chart per minute. ``shard`` is the
# writing process's (pid % 4): workers add to their own rows; a read sums the shards.
account_activity = Table(
    "account_activity",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("bucket", Integer, primary_key=True),  # Unix seconds // ACTIVITY_BUCKET_S
    Column("shard", Integer, primary_key=True),
    *[
        Column(name, Integer, nullable=False, default=0, server_default="0")
        for name in (
            "executions_started",
            "executions_completed",
            "executions_failed",
            "deliveries_created",
            "deliveries_succeeded",
            "deliveries_failed",
            "attempts",
            "attempts_ok",
            *[f"ex_le_{i}" for i in range(len(DURATION_BOUNDS_S) + 1)],
            *[f"at_le_{i}" for i in range(len(ATTEMPT_BOUNDS_MS) + 1)],
        )
    ],
    Index("ix_account_activity_bucket", "bucket"),
)

webhook_activity = Table(
    "webhook_activity",
    metadata,
    Column("webhook_id", String(36), primary_key=True),
    Column("minute", Integer, primary_key=True),  # Unix seconds // 60
    Column("shard", Integer, primary_key=True),
    *[
        Column(name, Integer, nullable=False, default=0, server_default="0")
        for name in (
            "attempts",
            "attempts_ok",
            "deliveries_failed",
            *[f"at_le_{i}" for i in range(len(ATTEMPT_BOUNDS_MS) + 1)],
        )
    ],
    Index("ix_webhook_activity_minute", "minute"),
)

user_preferences = Table(
    "user_preferences",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("contact", String(32), primary_key=True),
    Column("variables", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)

requests = Table(
    "requests",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("flow_id", String(8), nullable=False),
    Column("checksum", String(64), nullable=True),
    Column("records_loaded", Integer, nullable=False, default=0),
    Column("records_valid", Integer, nullable=False, default=0),
    Column("records_invalid", Integer, nullable=False, default=0),
    Column("start_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("flow_type", String(16), nullable=False, default="outbound"),
    Column("version", String(8), nullable=False, default="prod"),
    Column("source", String(16), nullable=False, default="api"),  # api | createOutbound
    Column("response", JSON, nullable=True),  # the answer given, replayed on a retry
    Index("ix_requests_checksum", "account_id", "checksum", unique=True),
    Index("ix_requests_account", "account_id", "created_at"),
)

short_urls = Table(
    "short_urls",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("long_url", Text, nullable=False),
    Column("clicks", Integer, nullable=False, default=0),
    Column("last_click_at", Float, nullable=True),
    Column("expires_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Index("ix_short_urls_account", "account_id", "created_at"),
)

agents = Table(
    "agents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("name", String(100), nullable=False),
    Column("cli", String(32), nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("busy_with", String(36), nullable=True),
    Column("idle_since", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("account_id", "cli", name="uq_agents_account_cli"),
    Index("ix_agents_busy", "busy_with"),
    Index("ix_agents_free", "account_id", "idle_since"),
)

dialer_queue = Table(
    "dialer_queue",
    metadata,
    Column("execution_uuid", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("queued_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),  # entries past this are ignored and purged
    Index("ix_dialer_queue_account", "account_id", "queued_at"),
)

calls = Table(
    "calls",
    metadata,
    # one call leg (channels/calls.py): the durable record behind $call.* and callDetails,
    # and the log of what happened on it (answer, key presses, hangup), scripted or live
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("execution_uuid", String(36), nullable=True),
    Column("adapter", String(32), nullable=False),
    Column("incoming", Boolean, nullable=False),
    Column("cli", String(32), nullable=False),
    Column("dnis", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # RINGING, ANSWERED, ENDED
    Column("script", JSON, nullable=True),  # the simulator's script for this leg
    Column("events", JSON, nullable=False),
    Column("hangup_cause", String(8), nullable=True),
    Column("remote_hangup", Boolean, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("answered_at", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    Index("ix_calls_account", "account_id", "created_at"),
    Index("ix_calls_execution", "execution_uuid"),
)

channel_messages = Table(
    "channel_messages",
    metadata,
    # one SMS or e-mail sent by a flow, with its latest delivery status (delivery reports
    # and bounces update it after the flow went on)
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("execution_uuid", String(36), nullable=True),
    Column("channel", String(8), nullable=False),  # sms | email
    Column("adapter", String(32), nullable=False),
    Column("sender", String(320), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("external_id", String(128), nullable=True),  # the gateway's id for the message
    Column("status", String(32), nullable=False),
    Column("detail", Text, nullable=True),  # the gateway's or SMTP server's answer
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_channel_messages_execution", "execution_uuid"),
    Index("ix_channel_messages_external", "adapter", "external_id"),
)


jobs = Table(
    "jobs",
    metadata,
    # Background work a user asked for and can follow (today: recover a webhook's or an
    # execution's failed deliveries). Each batch moves ``position`` forward in the same
    # transaction as the rows it changed, so a job resumes after a crash where it stopped.
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),  # recover
    Column("webhook_id", String(36), nullable=True),
    Column("execution_uuid", String(36), nullable=True),
    Column("since", Float, nullable=True),
    Column("until", Float, nullable=True),
    Column("status", String(16), nullable=False),  # RUNNING, DONE
    Column("total", Integer, nullable=False, default=0),
    Column("done", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("position", JSON, nullable=True),  # [created_at, id] of the last row handled
    Column("due_at", Float, nullable=True),  # next batch; NULL once DONE
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Index("ix_jobs_due", "due_at"),
    Index("ix_jobs_account", "account_id", "created_at"),
)

# the console (ui/): its users, their sessions, and failed sign-ins (rate limiting)
users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), ForeignKey("accounts.id"), nullable=False),
    Column("email", String(254), nullable=False),  # lower-cased; one user per address
    Column("password_hash", String(255), nullable=False),  # argon2id (usecases/users.py)
    Column("role", String(16), nullable=False),  # admin | viewer
    # signs in with a one-time password: must choose its own before anything else
    Column("must_change_password", Boolean, nullable=False, default=False, server_default=false()),
    Column("created_at", Float, nullable=False),
    # an e-mail names one user of the whole platform: the sign-in form asks for no account
    Index("uq_users_email", "email", unique=True),
    Index("ix_users_account", "account_id", "created_at"),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie's token
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_console_sessions_user", "user_id"),
)

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_sign_in_failures_email", "email", "address", "at"),
    Index("ix_sign_in_failures_address", "address", "at"),
)
