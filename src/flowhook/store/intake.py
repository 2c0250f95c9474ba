"""How new executions enter the system: one path for the trigger, outbound requests and
``createOutbound``.

The execution runner (``worker/``) admits executions: it returns the write that stores them
and what to do once that write is committed (run them here under its lease, or wake the
claim loop). The trigger writes it alone (``ExecutionRunner.accept``); an outbound request
writes it in the transaction that stores the request, so that both are kept or neither.
Features below the worker reach the runner through this type in the engine's services,
never by importing the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.engine.flow import CompiledFlow
from flowhook.engine.state import ExecutionState


@dataclass(frozen=True, slots=True)
class Admission:
    """New executions, admitted: ``write`` stores them in the caller's transaction,
    ``after_commit`` starts them (or wakes whoever will) once it is committed."""

    write: Callable[[Connection], None]
    after_commit: Callable[[], None]


@dataclass(frozen=True, slots=True)
class NewExecutions:
    """Executions to admit: due at ``start_at`` (None or past: ``now``), with their flow
    and their account when the caller has them at hand (else the runner reads them from
    its catalog); ``run_here=False`` leaves them to the claim loops."""

    states: list[ExecutionState]
    now: float
    start_at: float | None = None
    flow: CompiledFlow | None = None
    run_here: bool = True
    account: Account | None = None


Admit = Callable[[NewExecutions], Admission]


@dataclass(frozen=True)
class ExecutionIntake:
    """The runner's ``admit``, lent to features that start executions. A callable rather
    than the runner itself, so that they need not import the worker."""

    admit: Admit
