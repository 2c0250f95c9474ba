"""Flow documents the drawing tests share (as stored: the dict the API shows)."""

from __future__ import annotations

from typing import Any

PAYMENT_REMINDER: dict[str, Any] = {
    "name": "payment_reminder",
    "type": "outbound",
    "webhook_enabled": True,
    "entry": {"start": "greet", "on_remote_hangup": None, "on_flow_complete": "report"},
    "widgets": {
        "greet": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.greeting", "value": "Hello"}],
            "next": "score",
        },
        "score": {
            "type": "webhook",
            "webhook": "custom",
            "request": {"method": "POST", "url": "https://crm.example.com/score"},
            "exits": {"0": "route", "1": "done"},
        },
        "route": {
            "type": "decision",
            "branches": [
                {
                    "exit": "vip",
                    "conditions": [{"left": "$flow.key.score", "op": ">=", "right": "90"}],
                }
            ],
            "exits": {"vip": "wait", "default": "done"},
        },
        "wait": {"type": "delay", "minutes": 30, "next": "done"},
        "done": {"type": "end"},
        "report": {"type": "webhook", "webhook": "crm_events", "wait_for_response": False},
    },
}

AWKWARD_TEXT: dict[str, Any] = {
    "name": "awkward",
    "entry": {"start": "a"},
    "widgets": {
        "a": {
            "type": "store_variable",
            "label": 'Say "hi" \\ & <b>bold</b>\nline two &lt; \\N',
            "assignments": [{"variable": "$flow.key.x", "value": "1"}],
            "next": "b",
        },
        "b": {
            "type": "decision",
            "branches": [
                {"exit": 'x"\\<&>', "conditions": [{"left": "$flow.key.x", "op": "is_empty"}]}
            ],
            "exits": {'x"\\<&>': "c", "default": "c"},
        },
        "c": {"type": "end", "label": "c"},
        "lonely": {"type": "end", "label": "no entry reaches me"},
    },
}

LOOP: dict[str, Any] = {
    "name": "retry_loop",
    "entry": {"start": "call"},
    "widgets": {
        "call": {"type": "webhook", "webhook": "crm", "exits": {"0": "done", "1": "count"}},
        "count": {
            "type": "counter",
            "limit": 3,
            "exits": {"under": "pause", "over": "done"},
        },
        "pause": {"type": "delay", "seconds": 5, "next": "call"},
        "done": {"type": "end"},
    },
}
