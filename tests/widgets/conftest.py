"""Small factories for widget tests: a StepContext on a fixed clock in Asia/Kolkata, and a
way to validate a widget's config and run it in one call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest

from flowhook.domain.account import AccountInfo
from flowhook.engine.context import Services, StepContext
from flowhook.engine.state import ExecutionState
from flowhook.engine.widget import Outcome, Widget
from flowhook.settings import Settings

FIXED_EPOCH = 1_710_072_000.0
"""2024-03-10T12:00:00Z, i.e. 2024-03-10T17:30:00+05:30 in the account's zone."""

MakeContext = Callable[..., StepContext]
RunWidget = Callable[..., Awaitable[Outcome]]


@pytest.fixture
def make_ctx() -> MakeContext:
    def make(
        variables: Mapping[str, Any] | None = None,
        *,
        timezone: str = "Asia/Kolkata",
        clock: float = FIXED_EPOCH,
        settings: Settings | None = None,
        widget_id: str = "w1",
    ) -> StepContext:
        state = ExecutionState(
            uuid="u1", account_id="a", flow_id="f", version="test", request_id="r"
        )
        state.variables.update(variables or {})
        services = Services(settings=settings or Settings(), clock=lambda: clock)
        return StepContext(state, widget_id, AccountInfo(id="a", timezone=timezone), services)

    return make


@pytest.fixture
def epoch() -> float:
    """The clock's fixed time: 2024-03-10T17:30:00+05:30."""
    return FIXED_EPOCH


@pytest.fixture
def ctx(make_ctx: MakeContext) -> StepContext:
    return make_ctx()


@pytest.fixture
def run_widget() -> RunWidget:
    """``await run_widget(Operation, {...config without type...}, ctx)``."""

    async def run(
        cls: type[Widget[Any]], config: dict[str, Any], ctx: StepContext, widget_id: str = "w1"
    ) -> Outcome:
        widget = cls(widget_id, cls.Config.model_validate({"type": cls.type, **config}))
        return await widget.run(ctx)

    return run
