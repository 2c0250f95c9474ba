"""The benchmark's profile areas are named from the code itself (issue 14): each marker is
built from a function or class, so a rename fails here instead of silently moving samples
into "event loop and other"."""

from __future__ import annotations

from bench.profile import area_of, area_table, short_frame


def test_a_sample_in_each_area_is_counted_in_that_area() -> None:
    table = area_table()
    stacks = {
        "outgoing HTTP (aiohttp client: widget call + delivery)": (
            "HttpClient.send (/srv/app/src/flowhook/webhooks/client.py:120)"
        ),
        "flow-complete hook (payload, request, outbox row)": (
            "FlowCompleteHook.__call__ (/srv/app/src/flowhook/webhooks/outbox.py:55)"
        ),
        "interpreter + widgets": "advance (/srv/app/src/flowhook/engine/interpreter.py:80)",
        "reads in the thread pool (store.read)": (
            "_worker (/usr/lib/python3.11/concurrent/futures/thread.py:83)"
        ),
    }
    for area, frame in stacks.items():
        assert area_of(["run (asyncio/events.py)", short_frame(frame)], table) == area


def test_every_area_has_markers_and_unknown_code_is_other() -> None:
    table = area_table()
    assert all(markers and all(markers) for _, markers in table)
    assert area_of(["main (bench/run.py)"], table) == "event loop and other"


def test_the_outgoing_calls_protocol_callbacks_count_as_outgoing_http() -> None:
    """The loop calls the connections' callbacks (not ``HttpClient.send``): the responses
    are parsed there, and that is outgoing HTTP too; SQLAlchemy's ``Connection`` is not."""
    table = area_table()
    parsed = short_frame("data_received (/srv/app/src/flowhook/webhooks/wire.py:450)")
    other = short_frame("Connection.execute (/v/site-packages/sqlalchemy/engine/base.py:1416)")
    assert area_of([parsed], table) == "outgoing HTTP (aiohttp client: widget call + delivery)"
    assert area_of([other], table) == "event loop and other"
