"""The widgets: one module per widget type, each registering its class by ``type`` with
``flowhook.engine.widget.register``. The engine knows no widget by name; it imports this
package (``PLUGIN_MODULES``) and looks widgets up in the registry, so adding a widget is
one new module plus one name in the import below.

Most widgets are pure: they read and write the execution's variables through the
``StepContext`` and touch nothing outside it. Those that act on the world (``webhook``,
the agent widgets, the call widgets, ``sms`` and ``email``) say ``side_effect = True``, so
the engine saves the execution before running them, and reach the world only through the
services of the context (never ``store`` or ``api``: tests/test_layering.py).
"""

from flowhook.widgets import (  # noqa: F401
    agent_allot,
    agent_connect,
    agent_release,
    answer_call,
    collect_digits,
    counter,
    decision,
    delay,
    email,
    end,
    hangup,
    make_call,
    menu,
    operation,
    play,
    record,
    sms,
    store_variable,
    time_condition,
    transfer,
    webhook,
)
