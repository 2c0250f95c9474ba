"""lists at scale: an index per list filter, executions' contact, attempts' webhook, jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:30:00

The executions and deliveries lists page newest first by keyset on (created_at, id); each
filter gets an index that ends in that order, so a page reads its own rows and no others
with millions in the table (docs/performance.md). ``executions.contact`` (the customer
number, until now only inside the state JSON) and ``delivery_attempts.webhook_id`` (the
delivery's webhook, for its chart) are filled from what the rows already hold. ``jobs``
holds background work a user follows, such as the recovery of failed deliveries.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_EXECUTION_INDEXES = {
    "ix_executions_account_created": ["account_id", "created_at", "uuid"],
    "ix_executions_account_flow": ["account_id", "flow_id", "created_at", "uuid"],
    "ix_executions_account_status": ["account_id", "status", "created_at", "uuid"],
    "ix_executions_account_contact": ["account_id", "contact", "created_at", "uuid"],
    "ix_executions_account_request": ["account_id", "request_id", "created_at", "uuid"],
}
_DELIVERY_INDEXES = {
    "ix_deliveries_account_created": ["account_id", "created_at", "id"],
    "ix_deliveries_account_execution": ["account_id", "execution_uuid", "created_at", "id"],
    "ix_deliveries_account_status": ["account_id", "status", "created_at", "id"],
    "ix_deliveries_account_webhook": ["account_id", "webhook_id", "created_at", "id"],
}


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("contact", sa.String(length=32), nullable=True))
    contact = (
        "json_extract(state, '$.contact')"
        if bind.dialect.name == "sqlite"
        else "(state::json ->> 'contact')"
    )
    op.execute(f"UPDATE executions SET contact = {contact}")
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.add_column(sa.Column("webhook_id", sa.String(length=36), nullable=True))
    op.execute(
        "UPDATE delivery_attempts SET webhook_id = (SELECT webhook_id FROM deliveries"
        " WHERE deliveries.id = delivery_attempts.delivery_id)"
    )
    op.create_index("ix_attempts_webhook", "delivery_attempts", ["webhook_id", "at"])

    op.drop_index("ix_executions_account", table_name="executions")
    for name, columns in _EXECUTION_INDEXES.items():
        op.create_index(name, "executions", columns)
    op.drop_index("ix_deliveries_account", table_name="deliveries")
    op.drop_index("ix_deliveries_execution", table_name="deliveries")
    for name, columns in _DELIVERY_INDEXES.items():
        op.create_index(name, "deliveries", columns)

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("webhook_id", sa.String(length=36), nullable=True),
        sa.Column("execution_uuid", sa.String(length=36), nullable=True),
        sa.Column("since", sa.Float(), nullable=True),
        sa.Column("until", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("position", sa.JSON(), nullable=True),
        sa.Column("due_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_jobs_due", "jobs", ["due_at"])
    op.create_index("ix_jobs_account", "jobs", ["account_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_account", table_name="jobs")
    op.drop_index("ix_jobs_due", table_name="jobs")
    op.drop_table("jobs")
    for name in _DELIVERY_INDEXES:
        op.drop_index(name, table_name="deliveries")
    op.create_index("ix_deliveries_execution", "deliveries", ["execution_uuid"])
    op.create_index("ix_deliveries_account", "deliveries", ["account_id", "created_at"])
    for name in _EXECUTION_INDEXES:
        op.drop_index(name, table_name="executions")
    op.create_index("ix_executions_account", "executions", ["account_id", "created_at"])
    op.drop_index("ix_attempts_webhook", table_name="delivery_attempts")
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.drop_column("webhook_id")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("contact")
