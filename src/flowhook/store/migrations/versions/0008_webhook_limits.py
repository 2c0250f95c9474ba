"""webhook limits: a rate and a concurrency limit per saved webhook, held across workers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:40:00

A saved webhook may have a rate limit (deliveries per second) and a limit of deliveries in
flight. Each limited webhook has a row in ``webhook_limits`` (its token bucket) that every
worker's claim locks, so the limits hold however many workers there are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("rate_limit", sa.Float(), nullable=True))
        batch.add_column(sa.Column("max_in_flight", sa.Integer(), nullable=True))
    op.create_table(
        "webhook_limits",
        sa.Column("webhook_id", sa.String(36), primary_key=True),
        sa.Column("rate", sa.Float(), nullable=True),
        sa.Column("max_in_flight", sa.Integer(), nullable=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_limits")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("max_in_flight")
        batch.drop_column("rate_limit")
