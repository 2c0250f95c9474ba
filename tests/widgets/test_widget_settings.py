"""Widgets get the settings they need (``ctx.settings``), not the whole ``Settings`` with
the database URL and the secret key (issue 14)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from flowhook.engine.context import StepContext
from flowhook.settings import Settings

SECRETS = ("database_url", "secret_key", "operator_token")


def test_a_widget_sees_its_settings_and_none_of_the_secrets(
    make_ctx: Callable[..., StepContext],
) -> None:
    settings = Settings(
        database_url="sqlite:///./hidden.db",
        operator_token="op-token",
        response_raw_max_chars=77,
        time_scale=0.5,
        public_url="http://127.0.0.1:9999",
    )
    ctx = make_ctx(settings=settings)
    names = {f.name for f in dataclasses.fields(ctx.settings)}
    assert not names & set(SECRETS)
    assert all(not hasattr(ctx.settings, name) for name in SECRETS)
    assert ctx.settings.response_raw_max_chars == 77
    assert ctx.settings.scaled(10) == 5
    assert ctx.settings.base_url == "http://127.0.0.1:9999"
