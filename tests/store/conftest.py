"""A migrated store on a fresh database, once per engine, and a factory of executions."""

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
def store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    store = Store(Settings(database_url=database_url, data_dir=tmp_path))
    try:
        yield store
    finally:
        store.close()


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
