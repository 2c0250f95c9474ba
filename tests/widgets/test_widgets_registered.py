from flowhook.engine.widget import widget_class, widget_types
from flowhook.widgets.counter import Counter
from flowhook.widgets.decision import Decision
from flowhook.widgets.delay import Delay
from flowhook.widgets.end import End
from flowhook.widgets.operation import Operation
from flowhook.widgets.store_variable import StoreVariable


def test_importing_the_widgets_package_registers_every_pure_widget() -> None:
    assert {"store_variable", "operation", "decision", "delay", "counter", "end"} <= set(
        widget_types()
    )


def test_each_type_name_resolves_to_its_class() -> None:
    for cls in (StoreVariable, Operation, Decision, Delay, Counter, End):
        assert widget_class(cls.type) is cls


def test_pure_widgets_have_no_side_effects() -> None:
    for cls in (StoreVariable, Operation, Decision, Delay, Counter, End):
        assert cls.side_effect is False
