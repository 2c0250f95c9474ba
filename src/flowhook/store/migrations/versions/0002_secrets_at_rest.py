"""secrets at rest: encrypted secret values of webhooks and flows, the URL of each attempt

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("secrets", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("flows") as batch:
        batch.add_column(sa.Column("test_secrets", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("prod_secrets", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.add_column(sa.Column("url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_attempts") as batch:
        batch.drop_column("url")
    with op.batch_alter_table("flows") as batch:
        batch.drop_column("prod_secrets")
        batch.drop_column("test_secrets")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("secrets")
