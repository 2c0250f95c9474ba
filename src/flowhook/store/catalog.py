"""Compiled flows and accounts as a worker and the API see them, cached briefly in memory.

A trigger or a claimed execution needs its compiled flow and its account, and every API
call the account its key names; compiling a flow and reading an account on every step or
call would dominate the hot path, so they are cached (``flowhook/cache.py``) for ``ttl``
seconds (an edit made by another process is seen by running executions within that time).
A change made in this process is seen at once: the use case that makes it calls
:meth:`Catalog.forget`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from flowhook.cache import MISS, Cache
from flowhook.domain.account import Account
from flowhook.engine.flow import CompiledFlow, compile_flow
from flowhook.errors import Code, NotFound
from flowhook.store import accounts as account_repo
from flowhook.store import flows as flow_repo
from flowhook.store.db import Store
from flowhook.store.flows import FlowRecord
from flowhook.store.secrets import Cipher, hash_key

T = TypeVar("T")


class Catalog:
    def __init__(self, store: Store, ttl: float = 2.0, cipher: Cipher | None = None) -> None:
        self.store = store
        self.cipher = cipher  # decrypts the secrets of webhook widgets to compile a flow
        self.ttl = ttl
        self._flows: Cache[str, FlowRecord] = Cache(ttl=ttl)
        # a compiled flow is keyed by its version and edit time: it never goes stale
        self._compiled: Cache[tuple[str, str, float], CompiledFlow] = Cache(ttl=None)
        self._accounts: Cache[str, Account] = Cache(ttl=ttl)
        self._keys: Cache[str, Account] = Cache(ttl=ttl)  # by the API key's digest
        self._reading: dict[tuple[str, str], asyncio.Task[Any]] = {}

    async def _read_once(self, key: tuple[str, str], read: Callable[[], Awaitable[T]]) -> T:
        """``read()``, shared by every caller that misses the same entry while it runs.

        When an entry expires under load, every trigger in flight misses it at the same
        moment; without this each of them read the same row (on PostgreSQL a pooled
        connection's ping, the query and its rollback: three round trips each). A caller
        that gives up does not cancel the read the others wait for."""
        task = self._reading.get(key)
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(read())
            self._reading[key] = task
            task.add_done_callback(lambda done: self._forget_read(key, done))
        result: T = await asyncio.shield(task)
        return result

    def _forget_read(self, key: tuple[str, str], done: asyncio.Task[Any]) -> None:
        if self._reading.get(key) is done:
            del self._reading[key]
        if not done.cancelled():
            done.exception()  # retrieved: a failed read is its callers' error, not the loop's

    def forget(self, flow_id: str | None = None, account_id: str | None = None) -> None:
        # a read in flight may have started before the change: later callers read afresh
        if flow_id:
            self._flows.forget(flow_id)
            self._reading.pop(("flow", flow_id), None)
        if account_id:
            self._accounts.forget(account_id)
            self._reading.pop(("account", account_id), None)
            for key in [k for k in self._reading if k[0] == "key"]:
                self._reading.pop(key, None)
            self._keys.forget_where(lambda _digest, account: account.id == account_id)

    async def flow_record(self, flow_id: str, version: str | None = None) -> FlowRecord:
        """With ``version``, a cached record without that version is read again: another
        process may have published the flow since."""
        hit = self._flows.get(flow_id)
        if hit is not MISS and (version is None or hit.document(version)):
            return hit
        record = await self._read_once(
            ("flow", flow_id), lambda: self.store.read(lambda c: flow_repo.get(c, flow_id))
        )
        if record is None:
            self._flows.forget(flow_id)
            raise NotFound.flow(flow_id)
        return self._flows.put(flow_id, record)

    def compiled(self, record: FlowRecord, version: str) -> CompiledFlow:
        key = (record.flow_id, version, record.updated_at)
        flow = self._compiled.get(key)
        if flow is not MISS:
            return flow
        document: Any = record.real_document(version, self.cipher)
        if document is None:
            raise NotFound(
                f"flow {record.flow_id} has no {version} version (publish it first)",
                code=Code.FLOW_VERSION_NOT_FOUND,
            )
        return self._compiled.put(key, compile_flow(document))

    async def flow(self, flow_id: str, version: str) -> CompiledFlow:
        return self.compiled(await self.flow_record(flow_id, version), version)

    async def account(self, account_id: str) -> Account:
        hit = self._accounts.get(account_id)
        if hit is not MISS:
            return hit
        account = await self._read_once(
            ("account", account_id),
            lambda: self.store.read(lambda c: account_repo.get(c, account_id)),
        )
        if account is None:
            raise NotFound(f"no account {account_id}", code=Code.ACCOUNT_NOT_FOUND)
        return self._accounts.put(account_id, account)

    def cached_account_by_key(self, api_key: str) -> Account | None:
        """The account of an API key if this process read it less than ``ttl`` ago: no
        coroutine, no thread (the trigger's hot path checks a key on every call)."""
        hit = self._keys.get(hash_key(api_key))
        return None if hit is MISS else hit

    async def account_by_key(self, api_key: str) -> Account | None:
        """The account an API key belongs to, or None. Cached by the key's digest: the
        process keeps no API key in memory longer than the request that sent it."""
        account = self.cached_account_by_key(api_key)
        if account is not None:
            return account
        digest = hash_key(api_key)
        account = await self._read_once(
            ("key", digest), lambda: self.store.read(lambda c: account_repo.by_api_key(c, api_key))
        )
        if account is not None:
            self._keys.put(digest, account)
        return account
