"""The internal-webhook use case called directly: a method runs for the account over the
given variables; a failure carries the method's reason and what it set."""

from __future__ import annotations

import pytest

from flowhook.domain.account import Account
from flowhook.internal import InternalMethodError
from flowhook.runtime import Runtime
from flowhook.usecases import internal_webhooks, short_urls
from flowhook.usecases.internal_webhooks import InternalCall


async def test_a_method_runs_over_the_given_variables(rt: Runtime, account: Account) -> None:
    form = InternalCall(
        method="shortURL", variables={"$flow.syskey.longUrl": "https://example.com/x"}
    )
    called = await internal_webhooks.call(rt, account, "test", form)
    link = called.variables["$flow.key.shortUrl"]
    assert await short_urls.follow(rt, link.rsplit("/", 1)[1], None) == "https://example.com/x"


async def test_a_failure_keeps_the_reason_and_what_the_method_set(
    rt: Runtime, account: Account
) -> None:
    form = InternalCall(
        method="updatePauseStatusForCLI",
        variables={"$flow.key.cli": "9876543210", "$flow.key.pause": "true"},
    )
    with pytest.raises(InternalMethodError) as failed:
        await internal_webhooks.call(rt, account, "prod", form)
    assert failed.value.code == "AGENT_NOT_FOUND"
    assert failed.value.details == {"variables": {"$flow.key.cli_pause_update": False}}
    with pytest.raises(InternalMethodError) as unknown:
        await internal_webhooks.call(rt, account, "prod", InternalCall(method="nope"))
    assert unknown.value.code == "UNKNOWN_METHOD"
