"""flowhook/cache.py: every in-memory cache is bounded and forgets on purpose."""

from __future__ import annotations

from flowhook.cache import MISS, Cache


def test_a_cache_never_holds_more_than_its_size_and_drops_the_least_recently_used() -> None:
    cache: Cache[str, int] = Cache(ttl=3600, maxsize=3)
    for n in range(3):
        cache.put(f"k{n}", n)
    assert cache.get("k0") == 0  # k0 used: k1 is now the oldest
    for n in range(3, 10):
        cache.put(f"k{n}", n)
    assert len(cache) == 3
    assert [cache.get(k) for k in ("k7", "k8", "k9")] == [7, 8, 9]
    assert cache.get("k1") is MISS


def test_a_cache_without_ttl_is_bounded_too() -> None:
    cache: Cache[int, str] = Cache(ttl=None, maxsize=100)
    for n in range(1_000):
        cache.put(n, str(n))
    assert len(cache) == 100 and cache.get(999) == "999"


def test_a_cached_none_is_a_hit_and_forget_where_drops_only_what_matches() -> None:
    cache: Cache[tuple[str, str], str | None] = Cache(ttl=3600)
    cache.put(("acme", "crm"), None)  # "no such webhook" is worth remembering too
    cache.put(("acme", "billing"), "b")
    cache.put(("other", "crm"), "c")
    assert cache.get(("acme", "crm")) is None
    cache.forget_where(lambda key, _value: key[0] == "acme")
    assert cache.get(("acme", "crm")) is MISS and cache.get(("acme", "billing")) is MISS
    assert cache.get(("other", "crm")) == "c"
