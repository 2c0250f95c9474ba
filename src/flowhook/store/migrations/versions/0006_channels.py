"""channels: call legs, SMS and e-mail records, an account's channel adapters

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("channels", sa.JSON(), nullable=True))
    op.create_table(
        "calls",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("execution_uuid", sa.String(36), nullable=True),
        sa.Column("adapter", sa.String(32), nullable=False),
        sa.Column("incoming", sa.Boolean(), nullable=False),
        sa.Column("cli", sa.String(32), nullable=False),
        sa.Column("dnis", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("script", sa.JSON(), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("hangup_cause", sa.String(8), nullable=True),
        sa.Column("remote_hangup", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("answered_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_calls_account", "calls", ["account_id", "created_at"])
    op.create_index("ix_calls_execution", "calls", ["execution_uuid"])
    op.create_table(
        "channel_messages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("execution_uuid", sa.String(36), nullable=True),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("adapter", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_channel_messages_execution", "channel_messages", ["execution_uuid"])
    op.create_index("ix_channel_messages_external", "channel_messages", ["adapter", "external_id"])


def downgrade() -> None:
    op.drop_table("channel_messages")
    op.drop_table("calls")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("channels")
