"""A factory of executions for the repository tests here (the ``store`` fixture, a
migrated store once per engine, is the suite's: tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from flowhook.engine.state import ExecutionState

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
