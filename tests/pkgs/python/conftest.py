"""A real Python lock (resolved by pip against the configured index) and a store.

The lock is made once per session; wheels are cached in ~/.cache/declos/pypi by hash, so
only the first run on a machine downloads. setuptools is held below 81 because Pyramid 2.0
imports `pkg_resources`, which later setuptools releases no longer ship (a real lock
would pin it the same way).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from declos.pkgs import Pkgs
from declos.pkgs.python.lockfile import PyLock
from declos.pkgs.python.locking import lock_requirements
from declos.store import Store

REQUIREMENTS = ("pyramid==2.0.2", "setuptools<81", "flit_core>=3.4,<5")
APP = Path(__file__).parent / "hello_app"


@pytest.fixture(scope="session")
def pylock(tmp_path_factory: pytest.TempPathFactory) -> PyLock:
    path = tmp_path_factory.mktemp("pylock") / "pylock.toml"
    lock = lock_requirements(list(REQUIREMENTS), path=str(path), only_binary=True)
    lock.write(path)
    return lock


@pytest.fixture
def py_store(tmp_path: Path) -> Iterator[Store]:
    s = Store(str(tmp_path / "store"), str(tmp_path / "var"))
    yield s
    s.close()


@pytest.fixture
def py_pkgs(py_store: Store, pylock: PyLock) -> Pkgs:
    return Pkgs(py_store, python_lock=pylock.path)
