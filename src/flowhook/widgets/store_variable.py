"""Store Variable: write values into flow or user variables, typically to prepare the
request parameters (``$flow.syskey.*``, ``$user.syskey.*``) an internal webhook reads.

Values are JSON. Strings are rendered; a string that is exactly one reference keeps the
variable's own type (``"$flow.key.score"`` stores ``42``, not ``"42"``). Assignments run in
order, so a later one can read what an earlier one wrote.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from flowhook.engine.context import READ_ONLY_PREFIXES, StepContext, strip
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig, register
from flowhook.widgets._fields import WritableVariable


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variable: WritableVariable
    value: JsonValue = None


class StoreVariableConfig(WidgetConfig):
    assignments: list[Assignment] = Field(min_length=1)


@register
class StoreVariable(Widget[StoreVariableConfig]):
    type = "store_variable"
    Config = StoreVariableConfig

    def __init__(self, widget_id: str, config: StoreVariableConfig) -> None:
        super().__init__(widget_id, config)
        # Whether each value must be rendered, decided once per compiled flow rather than on
        # every run: a constant scalar (no ``$`` in it) renders to itself; lists and objects
        # are always rendered, so that each execution gets its own copy.
        # The name without its ``$`` too: ``WritableVariable`` admits no read-only name, so
        # each run writes with ``ctx.put``, without ``ctx.set``'s parsing and checks.
        self._assignments: list[tuple[str, str | None, Any, bool]] = [
            (a.variable, _writable_key(a.variable), a.value, _renders(a.value))
            for a in config.assignments
        ]

    async def run(self, ctx: StepContext) -> Outcome:
        for variable, key, value, renders in self._assignments:
            if renders:
                value = ctx.render_value(value)
            if key is None:
                ctx.set(variable, value)
            else:
                ctx.put(key, value)
        return Exit()


def _writable_key(variable: str) -> str | None:
    """The name ``ctx.set`` would write, or None when only ``ctx.set`` may judge it."""
    key = strip(variable)
    return None if key.startswith(READ_ONLY_PREFIXES) else key


def _renders(value: Any) -> bool:
    """Whether ``value`` may render to something other than itself."""
    return isinstance(value, dict | list) or (isinstance(value, str) and "$" in value)
