"""ordered delivery: a webhook may be ordered by a key; its deliveries get a sequence

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-30 12:10:00

A saved webhook may be ordered by the contact number, the execution or a flow variable
(``ordered_by``, ``order_variable``); each of its deliveries then has an ``order_key`` and
a ``sequence`` (1, 2, … per webhook and key, in creation order). A unique partial index
keeps the sequence unique, a second one (pending rows only) answers "is an earlier one of
this key still to be sent?" at each claim. An ordered webhook has a ``webhook_limits`` row
(``ordered``): its deliveries are claimed through it, never by the ordinary claim.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

_ORDERED = "order_key IS NOT NULL"
_PENDING_ORDERED = "status = 'PENDING' AND order_key IS NOT NULL"


def upgrade() -> None:
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
