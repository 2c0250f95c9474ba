import pytest
from pydantic import ValidationError

from flowhook.engine.widget import Exit
from flowhook.widgets.end import End, EndConfig


async def test_end_leaves_by_the_end_exit(ctx, run_widget):
    assert await run_widget(End, {}, ctx) == Exit("end")
    assert ctx.changed == {}


def test_end_has_no_exits_to_wire():
    assert End.exit_names(EndConfig(type="end")) == set()


def test_end_takes_no_configuration_of_its_own():
    with pytest.raises(ValidationError):
        EndConfig.model_validate({"type": "end", "seconds": 1})
