"""Store Variable: write values into flow or user variables, typically to prepare the
request parameters (``$flow.syskey.*``, ``$user.syskey.*``) an internal webhook reads.

Values are JSON. Strings are rendered; a string that is exactly one reference keeps the
variable's own type (``"$flow.key.score"`` stores ``42``, not ``"42"``). Assignments run in
order, so a later one can read what an earlier one wrote.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from flowhook.engine.context import StepContext
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

    async def run(self, ctx: StepContext) -> Outcome:
        for assignment in self.config.assignments:
            ctx.set(assignment.variable, ctx.render_value(assignment.value))
        return Exit()
