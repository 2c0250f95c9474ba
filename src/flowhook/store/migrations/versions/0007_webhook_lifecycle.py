"""webhook lifecycle: endpoint health, the operational webhook, attempt statistics, retention

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:15:00

Each saved webhook gets a health state (HEALTHY, FAILING since a time, DISABLED at a time
for a reason); an account may name the webhook that receives operational events; and a
rollup of attempts per webhook and 5-minute bucket (count, successes, a latency
histogram) answers "how is this webhook doing over 24 h" without reading the attempts.
A partial index finds each webhook's pending deliveries (metrics, re-enabling). An account
may keep its finished executions and deliveries for its own number of days.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# the latency histogram's upper bounds in milliseconds (the last bucket is unbounded);
# frozen here as they were at this revision (store/tables.py has the live list)
_BOUNDS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column("health", sa.String(16), nullable=False, server_default="HEALTHY")
        )
        batch.add_column(sa.Column("failing_since", sa.Float(), nullable=True))
        batch.add_column(sa.Column("disabled_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("disabled_reason", sa.String(32), nullable=True))
        batch.create_index("ix_webhooks_health", ["health"])
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("ops_webhook_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    op.create_index(
        "ix_deliveries_pending",
        "deliveries",
        ["webhook_id", "created_at"],
        postgresql_where=sa.text("status = 'PENDING'"),
        sqlite_where=sa.text("status = 'PENDING'"),
    )
    op.create_table(
        "webhook_stats",
        sa.Column("webhook_id", sa.String(36), primary_key=True),
        sa.Column("bucket", sa.Integer(), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("successes", sa.Integer(), nullable=False, server_default="0"),
        *[
            sa.Column(f"le_{i}", sa.Integer(), nullable=False, server_default="0")
            for i in range(len(_BOUNDS) + 1)
        ],
    )
    op.create_index("ix_webhook_stats_bucket", "webhook_stats", ["bucket"])


def downgrade() -> None:
    op.drop_index("ix_webhook_stats_bucket", table_name="webhook_stats")
    op.drop_table("webhook_stats")
    op.drop_index("ix_deliveries_pending", table_name="deliveries")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("retention_days")
        batch.drop_column("ops_webhook_id")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_index("ix_webhooks_health")
        batch.drop_column("disabled_reason")
        batch.drop_column("disabled_at")
        batch.drop_column("failing_since")
        batch.drop_column("health")
