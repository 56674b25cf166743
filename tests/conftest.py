"""Shared test fixtures.

``../shared/`` (source documents, research notes, labelled data sets) sits beside the project in
development and CI but not in a user's clone: tests that need it skip with a reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI must be reproducible: the same examples on every run (a failure found locally with random
# examples is turned into a regression test). Locally, examples stay random to keep finding bugs.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder beside the project; skip the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared/ is not beside this checkout (it exists only in development and CI)")
    return SHARED


@pytest.fixture(scope="session")
def seeds_dir(shared_dir: Path) -> Path:
    path = shared_dir / "seeds"
    if not path.is_dir():
        pytest.skip("../shared/seeds/ is absent")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Committed test data (goldens, fixtures): ``tests/data``."""
    return DATA
