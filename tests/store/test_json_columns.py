"""JSON columns are encoded with orjson for speed; what orjson refuses (integers beyond
64 bits) still round-trips exactly, on both engines."""

from __future__ import annotations

from flowhook.engine.state import ExecutionState
from flowhook.store import executions as execution_repo
from flowhook.store.db import Store


def test_state_values_round_trip_exactly(store: Store, make_state: object) -> None:
    state: ExecutionState = make_state()  # type: ignore[operator]
    state.variables = {
        "flow.key.big": 10**30,
        "flow.key.float": 2.5,
        "flow.key.text": 'Zoë "Z" <&> \u2028',
        "flow.key.nested": {"a": [1, None, True]},
    }
    store.write_sync(
        lambda c: execution_repo.insert_many(
            c, [state], due_at=None, lease_owner=None, lease_until=None, now=1.0
        )
    )
    loaded = store.read_sync(lambda c: execution_repo.get(c, state.uuid))
    assert loaded is not None
    assert loaded.variables == state.variables
    assert isinstance(loaded.variables["flow.key.big"], int)
