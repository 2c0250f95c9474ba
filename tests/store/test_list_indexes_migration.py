"""Migration 0005 on a database that already holds executions and deliveries: the new
columns the lists and the webhook chart read are filled from what the rows hold (the
customer number in the execution's state, the webhook of an attempt's delivery), so old
rows are found by the new filters too."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import text

from flowhook.store.db import alembic_config, make_engine, upgrade


def test_old_rows_get_their_contact_and_their_attempts_webhook(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "0003")
    engine = make_engine(database_url, single=True)
    state = {"uuid": "e-1", "contact": "919876543210", "status": "COMPLETED"}
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO executions (uuid, account_id, flow_id, version, request_id,"
                    " status, state, created_at, updated_at, claims) VALUES ('e-1', 'a', 'f',"
                    " 'prod', 'r', 'COMPLETED', :state, 1, 1, 0)"
                ),
                {"state": json.dumps(state)},
            )
            conn.execute(
                text(
                    "INSERT INTO deliveries (id, account_id, webhook_id, endpoint, request,"
                    " status, attempts, created_at, updated_at, schedule_started_at) VALUES"
                    " ('d-1', 'a', 'w-1', 'h:443', '{}', 'FAILED', 1, 1, 1, 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO delivery_attempts (delivery_id, number, at, duration_ms,"
                    " request_headers) VALUES ('d-1', 1, 1, 2.5, '{}')"
                )
            )
        upgrade(database_url)
        with engine.connect() as conn:
            contact = conn.execute(text("SELECT contact FROM executions")).scalar_one()
            webhook = conn.execute(text("SELECT webhook_id FROM delivery_attempts")).scalar_one()
    finally:
        engine.dispose()
    assert (contact, webhook) == ("919876543210", "w-1")
