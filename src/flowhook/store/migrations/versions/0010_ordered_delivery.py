"""ordered delivery and operational e-mails: a webhook may be ordered by a key; an account
may have its operational events e-mailed

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:10:00

A saved webhook may be ordered by the contact number, the execution or a flow variable
(``ordered_by``, ``order_variable``); each of its deliveries then has an ``order_key`` and
a ``sequence`` (1, 2, … per webhook and key, in creation order). A unique partial index
keeps the sequence unique, a second one (pending rows only) answers "is an earlier one of
this key still to be sent?" at each claim. An ordered webhook has a ``webhook_limits`` row
(``ordered``): its deliveries are claimed through it, never by the ordinary claim.

An account may name an e-mail address for its operational events (``ops_email``); each
event to it is an ``ops_mails`` row, sent and retried by the workers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ORDERED = "order_key IS NOT NULL"
_PENDING_ORDERED = "status = 'PENDING' AND order_key IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("ops_email", sa.String(320), nullable=True))
    op.create_table(
        "ops_mails",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_ops_mails_due", "ops_mails", ["due_at"])
    op.create_index("ix_ops_mails_account_created", "ops_mails", ["account_id", "created_at"])
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("ordered_by", sa.String(16), nullable=True))
        batch.add_column(sa.Column("order_variable", sa.String(100), nullable=True))
    with op.batch_alter_table("webhook_limits") as batch:
        batch.add_column(
            sa.Column("ordered", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("order_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=True))
    op.create_index(
        "uq_deliveries_order",
        "deliveries",
        ["webhook_id", "order_key", "sequence"],
        unique=True,
        postgresql_where=sa.text(_ORDERED),
        sqlite_where=sa.text(_ORDERED),
    )
    op.create_index(
        "ix_deliveries_order_pending",
        "deliveries",
        ["webhook_id", "order_key", "sequence"],
        postgresql_where=sa.text(_PENDING_ORDERED),
        sqlite_where=sa.text(_PENDING_ORDERED),
    )


def downgrade() -> None:
    op.drop_table("ops_mails")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("ops_email")
    op.drop_index("ix_deliveries_order_pending", table_name="deliveries")
    op.drop_index("uq_deliveries_order", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("sequence")
        batch.drop_column("order_key")
    with op.batch_alter_table("webhook_limits") as batch:
        batch.drop_column("ordered")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("order_variable")
        batch.drop_column("ordered_by")
