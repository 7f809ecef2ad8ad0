"""Fixtures for system-closure tests: a private store under a temp root and its writer."""

from __future__ import annotations

import pytest

from declos.store import Store
from declos.system.writer import StoreWriter


@pytest.fixture
def writer(store: Store) -> StoreWriter:
    return StoreWriter(store)


@pytest.fixture
def read(store: Store):  # type: ignore[no-untyped-def]
    """Read a store file through the test root (paths in files are logical)."""
    return lambda path: store.real_path(path).read_text()
