"""Real Debian packages from the host's apt sources, shared by this directory's tests.

The archive (verified InRelease, cached Packages indices) and one lock of the corpus are
made once per session; `.deb`s are cached in ~/.cache/declos/debs, so only the first
run on a machine downloads. The store's logical directory is its physical one, so the
built programs run directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from declos.pkgs import Pkgs
from declos.pkgs.debian.lockfile import Lock
from declos.pkgs.debian.locking import Archive, make_lock, open_archive
from declos.store import Store

CORPUS = (
    "nginx",
    "curl",
    "wget",
    "tmux",
    "jq",
    "valgrind",
    "python3",
    "git",
    "openssh-server",
    "gnupg",
    "apache2",
    "postgresql",
    "munin-node",
)


@pytest.fixture(scope="session")
def archive() -> Archive:
    return open_archive()


@pytest.fixture(scope="session")
def corpus_lock(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Lock:
    path = tmp_path_factory.mktemp("lock") / "declos.lock"
    lock = make_lock(archive, CORPUS, path=str(path))
    lock.write(path)
    return lock


@pytest.fixture(scope="session")
def deb_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    d = tmp_path_factory.mktemp("debstore")
    s = Store(str(d / "store"), str(d / "var"))
    yield s
    s.close()


@pytest.fixture(scope="session")
def deb_pkgs(deb_store: Store, corpus_lock: Lock) -> Pkgs:
    return Pkgs(deb_store, lock=Path(corpus_lock.path))
