"""The agents use cases called directly: an agent's CLI is normalised and unique in the
account, pause and rename, and an agent of another account is not found."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flowhook.domain.account import Account
from flowhook.errors import Conflict, NotFound
from flowhook.runtime import Runtime
from flowhook.usecases import accounts, agents
from flowhook.usecases.agents import AgentPatch, NewAgent


async def test_an_agent_is_created_read_listed_paused_renamed_and_deleted(
    rt: Runtime, account: Account
) -> None:
    asha = await agents.create(rt, account, NewAgent(name=" Asha ", cli="98765 43210"))
    assert (asha.name, asha.cli, asha.paused) == ("Asha", "919876543210", False)
    assert await agents.get(rt, account, asha.id) == asha
    ravi = await agents.create(rt, account, NewAgent(name="Ravi", cli="9876543211", paused=True))
    assert [a.id for a in await agents.list_all(rt, account)] == [asha.id, ravi.id]

    paused = await agents.update(rt, account, asha.id, AgentPatch(paused=True))
    assert paused.paused is True and paused.name == "Asha"
    renamed = await agents.update(rt, account, asha.id, AgentPatch(name="Asha K"))
    assert (renamed.name, renamed.paused) == ("Asha K", True)

    await agents.delete(rt, account, asha.id)
    assert [a.id for a in await agents.list_all(rt, account)] == [ravi.id]
    with pytest.raises(NotFound) as gone:
        await agents.get(rt, account, asha.id)
    assert gone.value.code == "AGENT_NOT_FOUND"


async def test_one_cli_is_one_agent_in_an_account_whatever_its_form(
    rt: Runtime, account: Account
) -> None:
    await agents.create(rt, account, NewAgent(name="Asha", cli="9876543210"))
    with pytest.raises(Conflict) as taken:
        await agents.create(rt, account, NewAgent(name="Again", cli="+91 98765 43210"))
    assert taken.value.code == "AGENT_EXISTS"
    other = (await accounts.create(rt, accounts.NewAccount(name="other"))).account
    assert (await agents.create(rt, other, NewAgent(name="Asha", cli="9876543210"))).cli


async def test_an_agent_of_another_account_is_not_found(rt: Runtime, account: Account) -> None:
    asha = await agents.create(rt, account, NewAgent(name="Asha", cli="9876543210"))
    other = (await accounts.create(rt, accounts.NewAccount(name="other"))).account
    for act in (
        agents.get(rt, other, asha.id),
        agents.update(rt, other, asha.id, AgentPatch(paused=True)),
        agents.delete(rt, other, asha.id),
    ):
        with pytest.raises(NotFound):
            await act
    assert (await agents.get(rt, account, asha.id)).paused is False


def test_an_agents_name_cannot_hold_control_characters() -> None:
    with pytest.raises(ValidationError):
        NewAgent(name="a\x00b", cli="9876543210")
