"""Stable ids are exactly the standard library's version-5 UUIDs."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowhook.ids import stable_id

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
