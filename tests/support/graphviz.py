"""Graphviz for the tests that draw flows: the real ``dot`` (Debian's ``graphviz``).
Missing, those tests skip — unless ``FLOWHOOK_REQUIRE_GRAPHVIZ=1`` (CI sets it), which
turns the skip into a failure. Import the fixture into a test module or conftest."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def dot_command() -> str:
    found = shutil.which("dot")
    if found is None:
        reason = "Graphviz's `dot` is not installed (apt-get install graphviz)"
        if os.environ.get("FLOWHOOK_REQUIRE_GRAPHVIZ") == "1":
            pytest.fail(f"{reason}, and FLOWHOOK_REQUIRE_GRAPHVIZ=1 forbids skipping", False)
        pytest.skip(reason)
    return found
