"""activity roll-up and forced password change: the last day's figures at a constant cost,
and users who must replace a one-time password

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 12:20:00

``account_activity`` (per account and 5-minute bucket) and ``webhook_activity`` (per
webhook and minute) hold counts and latency histograms added as executions, deliveries and
attempts are written (``store/rollup.py``); the home page and a webhook's chart read them
instead of the rows. They start empty: the figures of a database upgraded now fill up over
the next 24 hours. ``users.must_change_password`` marks a user whose password was given to
them (a one-time password); such a user changes it before using the console.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ATTEMPT_BUCKETS = 21
DURATION_BUCKETS = 15


def _counts(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(n, sa.Integer(), nullable=False, server_default="0") for n in names]


def upgrade() -> None:
    op.create_table(
        "account_activity",
        sa.Column("account_id", sa.String(36), primary_key=True),
        sa.Column("bucket", sa.Integer(), primary_key=True),
        sa.Column("shard", sa.Integer(), primary_key=True),
        *_counts(
            "executions_started",
            "executions_completed",
            "executions_failed",
            "deliveries_created",
            "deliveries_succeeded",
            "deliveries_failed",
            "attempts",
            "attempts_ok",
            *[f"ex_le_{i}" for i in range(DURATION_BUCKETS)],
            *[f"at_le_{i}" for i in range(ATTEMPT_BUCKETS)],
        ),
    )
    op.create_index("ix_account_activity_bucket", "account_activity", ["bucket"])
    op.create_table(
        "webhook_activity",
        sa.Column("webhook_id", sa.String(36), primary_key=True),
        sa.Column("minute", sa.Integer(), primary_key=True),
        sa.Column("shard", sa.Integer(), primary_key=True),
        *_counts(
            "attempts",
            "attempts_ok",
            "deliveries_failed",
            *[f"at_le_{i}" for i in range(ATTEMPT_BUCKETS)],
        ),
    )
    op.create_index("ix_webhook_activity_minute", "webhook_activity", ["minute"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
    op.drop_index("ix_webhook_activity_minute", table_name="webhook_activity")
    op.drop_table("webhook_activity")
    op.drop_index("ix_account_activity_bucket", table_name="account_activity")
    op.drop_table("account_activity")
