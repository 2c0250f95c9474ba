"""The application layer: what a user can do to flows, executions, webhooks, deliveries,
accounts, agents, short URLs and outbound requests, with every rule written once.

The JSON API (``api/``), the CLI (``cli.py``) and the console (``ui/``) are adapters over
this package: they parse their input into the typed forms defined here, call one use case,
and render what it returns. A use case

- is a function of one module per resource (``usecases/webhooks.py`` …), named for the act
  (``create``, ``replace``, ``check``, ``replay`` …);
- takes the process's :class:`~flowhook.runtime.Runtime`, the caller's
  :class:`~flowhook.domain.account.Account` (the account whose data it may touch) and
  typed inputs (pydantic forms, defined in the use case's module; the API validates
  requests with the same models);
- enforces every rule (names taken, objects in use, limits), reaches the store through the
  repository functions of ``store/`` only, reads the time once from ``rt.now()`` for its
  transaction, and invalidates the caches its change makes stale;
- returns domain objects or store records, and raises :mod:`flowhook.errors` errors with
  stable codes — never an HTTP status or a response.

Named ``usecases`` rather than ``app`` or ``services``: ``app`` is already the FastAPI and
Typer application objects, ``Services`` the engine's service container.
"""
