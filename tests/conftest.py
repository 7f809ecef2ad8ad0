"""Fixtures shared by the fast test packages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from declos.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A private store under a temporary physical root (logical paths stay /declos/store)."""
    s = Store.open(tmp_path / "root")
    yield s
    s.close()
