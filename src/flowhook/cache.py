"""The one kind of in-memory cache flowhook keeps: bounded, expiring, and forgotten on purpose.

Hot paths read the same things again and again: compiled flows and accounts (the trigger,
every claimed execution), saved webhooks (the webhook widget), the default webhook (every
finished execution), decrypted signing secrets (every delivery attempt). Each is held in a
:class:`Cache`, which

- keeps at most ``maxsize`` entries (the least recently used go first: memory stays bounded
  however many flows, accounts or webhooks there are);
- with a ``ttl``, lets an entry live that many seconds, so a change made by *another*
  process is seen within that time;
- is told by the use case that changes something here to :meth:`~Cache.forget` it, so *this*
  process sees the change at once (``usecases/`` calls it, never a router).

It wraps ``cachetools`` (LRU and TTL caches, well kept and typed); nothing else imports it.
Not thread-safe, as the event loop that uses it needs no lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from enum import Enum
from typing import Final, Generic, Literal, TypeVar

import cachetools

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Miss(Enum):
    MISS = "MISS"


MISS: Final = _Miss.MISS
"""What :meth:`Cache.get` returns for a key it does not hold (a cached value may be None)."""

DEFAULT_MAXSIZE = 10_000


class Cache(Generic[K, V]):
    """A bounded cache; ``ttl=None``: entries never expire (only the oldest are evicted),
    for values whose key says which version they are."""

    def __init__(self, *, ttl: float | None, maxsize: int = DEFAULT_MAXSIZE) -> None:
        self.ttl = ttl
        self._data: cachetools.Cache[K, V] = (
            cachetools.LRUCache(maxsize)
            if ttl is None
            else cachetools.TTLCache(maxsize, ttl, timer=time.monotonic)
        )

    @property
    def maxsize(self) -> int:
        return int(self._data.maxsize)

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: K) -> V | Literal[_Miss.MISS]:
        try:
            return self._data[key]
        except KeyError:
            return MISS

    def put(self, key: K, value: V) -> V:
        self._data[key] = value
        return value

    def forget(self, key: K) -> None:
        self._data.pop(key, None)

    def forget_where(self, matches: Callable[[K, V], bool]) -> None:
        """Forget every entry for which ``matches(key, value)``: all of one account's."""
        for key in [k for k, v in list(self._data.items()) if matches(k, v)]:
            self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()
