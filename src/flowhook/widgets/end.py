"""End: finish the current phase here. The engine treats the ``end`` exit as the end of
the phase it is running: in the main phase the flow is done (and its ``on_flow_complete``
entry runs, if it has one); in the complete phase the execution ends. The widget itself
only returns ``Exit("end")``; it has no exits to wire.
"""

from __future__ import annotations

from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig, register


class EndConfig(WidgetConfig):
    """No configuration of its own."""


@register
class End(Widget[EndConfig]):
    type = "end"
    Config = EndConfig

    @classmethod
    def exit_names(cls, config: EndConfig) -> set[str]:
        return set()

    async def run(self, ctx: StepContext) -> Outcome:
        return Exit("end")
