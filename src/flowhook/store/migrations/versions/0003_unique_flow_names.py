"""one flow per name in an account

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 06:20:00.000000

Databases made before this revision may hold several flows of one name in an account. The
oldest keeps its name (created_at, then flow_id); each later one is renamed with the
first free suffix ``_2``, ``_3`` … (its test and prod documents too, so that the flow's
name and its documents agree), then the unique index is created. Renamed flows are
logged. The downgrade drops the index and keeps the new names.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

MAX_NAME = 100

_flows = sa.table(
    "flows",
    sa.column("flow_id", sa.String),
    sa.column("account_id", sa.String),
    sa.column("name", sa.String),
    sa.column("test_doc", sa.JSON),
    sa.column("prod_doc", sa.JSON),
    sa.column("created_at", sa.Float),
)


def _free_name(name: str, taken: set[str]) -> str:
    number = 2
    while True:
        suffix = f"_{number}"
        candidate = name[: MAX_NAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        number += 1


def _rename_duplicates(conn: sa.Connection) -> None:
    duplicated = conn.execute(
        sa.select(_flows.c.account_id, _flows.c.name)
        .group_by(_flows.c.account_id, _flows.c.name)
        .having(sa.func.count() > 1)
    ).all()
    for account_id, name in duplicated:
        taken = set(
            conn.execute(
                sa.select(_flows.c.name).where(_flows.c.account_id == account_id)
            ).scalars()
        )
        rows = conn.execute(
            sa.select(_flows.c.flow_id, _flows.c.test_doc, _flows.c.prod_doc)
            .where(_flows.c.account_id == account_id, _flows.c.name == name)
            .order_by(_flows.c.created_at, _flows.c.flow_id)
        ).all()
        for flow_id, test_doc, prod_doc in rows[1:]:
            new_name = _free_name(name, taken)
            taken.add(new_name)
            values: dict[str, Any] = {"name": new_name}
            for column, doc in (("test_doc", test_doc), ("prod_doc", prod_doc)):
                if isinstance(doc, dict):  # an unpublished flow's prod_doc stays as it is
                    values[column] = {**doc, "name": new_name}
            conn.execute(sa.update(_flows).where(_flows.c.flow_id == flow_id).values(**values))
            log.warning(
                "flow %s of account %s renamed %r → %r", flow_id, account_id, name, new_name
            )


def upgrade() -> None:
    _rename_duplicates(op.get_bind())
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.create_index("uq_flows_account_name", ["account_id", "name"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("flows", schema=None) as batch_op:
        batch_op.drop_index("uq_flows_account_name")
