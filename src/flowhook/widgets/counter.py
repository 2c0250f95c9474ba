"""Counter: count how often the flow passed here, typically to bound a retry loop.

Each run adds one to the execution's counter ``name`` (default: the widget's id, so two
counters never share a count by accident; give two widgets the same ``name`` to share
one). While the count is at most ``limit`` the widget leaves by ``under``, afterwards by
``over``: with ``limit: 3`` the first three passes go ``under`` and every later pass goes
``over``. The count is never reset within an execution and survives waits and restarts
(it lives in ``ExecutionState.counters``). With ``variable`` set, the count is also
written there (``"attempts"`` means ``$flow.key.attempts``) for messages or webhooks.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig, register
from flowhook.widgets._fields import WRITABLE


class CounterConfig(WidgetConfig):
    name: str | None = Field(None, min_length=1)
    limit: int = Field(ge=1)
    variable: str | None = None

    @field_validator("variable")
    @classmethod
    def _full_name(cls, variable: str | None) -> str | None:
        """A bare name is a flow variable: ``attempts`` → ``$flow.key.attempts``."""
        if variable is None:
            return None
        full = variable if variable.startswith("$") else f"$flow.key.{variable}"
        if not WRITABLE.fullmatch(full):
            raise ValueError(
                f"{variable!r} is not a variable a widget may write: use a name such as "
                "attempts or $flow.key.attempts"
            )
        return full


@register
class Counter(Widget[CounterConfig]):
    type = "counter"
    Config = CounterConfig

    @classmethod
    def exit_names(cls, config: CounterConfig) -> set[str]:
        return {"under", "over"}

    async def run(self, ctx: StepContext) -> Outcome:
        name = self.config.name or self.id
        count = ctx.state.counters.get(name, 0) + 1
        ctx.state.counters[name] = count
        if self.config.variable is not None:
            ctx.set(self.config.variable, count)
        return Exit("under" if count <= self.config.limit else "over")
