"""A factory of executions for the repository tests here (the ``store`` fixture, a
migrated store once per engine, is the suite's: tests/conftest.py), and a store on
PostgreSQL only (the tests that count its round trips)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flowhook.engine.state import ExecutionState
from flowhook.settings import Settings
from flowhook.store.db import Store

MakeState = Callable[..., ExecutionState]


@pytest.fixture
def make_state() -> MakeState:
    def make(
        account_id: str = "acct-a", flow_id: str = "flow0001", **fields: Any
    ) -> ExecutionState:
        return ExecutionState(
            uuid=str(uuid.uuid4()),
            account_id=account_id,
            flow_id=flow_id,
            version="test",
            request_id=str(uuid.uuid4()),
            **fields,
        )

    return make


@pytest.fixture
def postgres_store(postgres_url: str, tmp_path: Path) -> Iterator[Store]:
    store = Store(Settings(database_url=postgres_url, data_dir=tmp_path))
    try:
        yield store
    finally:
        store.close()
