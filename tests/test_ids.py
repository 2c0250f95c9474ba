"""Stable ids are exactly the standard library's version-5 UUIDs, random ids its version-4
UUIDs."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowhook.ids import random_id, stable_id

NAMESPACES = st.sampled_from([uuid.NAMESPACE_URL, uuid.NAMESPACE_DNS]) | st.uuids()


@given(namespace=NAMESPACES, name=st.text())
def test_a_stable_id_is_the_uuid5_of_its_name(namespace: uuid.UUID, name: str) -> None:
    try:
        expected = str(uuid.uuid5(namespace, name))
    except UnicodeEncodeError:  # lone surrogates: neither can encode them
        with pytest.raises(UnicodeEncodeError):
            stable_id(namespace, name)
        return
    assert stable_id(namespace, name) == expected


def test_a_random_id_is_a_version_4_uuid_as_str_writes_it() -> None:
    drawn = [random_id() for _ in range(2000)]
    for text in drawn:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text
    assert len(set(drawn)) == len(drawn)
    # every random bit is used: each hex digit outside the fixed ones takes many values
    for position in range(36):
        if position not in (8, 13, 14, 18, 19, 23):
            assert len({text[position] for text in drawn}) > 8


def test_a_forked_child_draws_other_ids_than_its_parent() -> None:
    import os

    random_id()  # the pool holds ids now: a child that kept them would hand out the same
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        try:
            os.write(write, " ".join(random_id() for _ in range(10)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {random_id() for _ in range(10)}
    assert len(child) == 10 and not child & parent
