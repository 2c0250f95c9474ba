"""A migrated store on a fresh database, once per engine, for the repository tests here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flowhook.settings import Settings
from flowhook.store.db import Store


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    store = Store(Settings(database_url=database_url, data_dir=tmp_path))
    try:
        yield store
    finally:
        store.close()
