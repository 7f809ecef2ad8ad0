"""Real Debian packages from the host's apt sources, shared by this directory's tests.

The archive (verified InRelease, cached Packages indices) and one lock of the corpus are
made once per session; `.deb`s are cached in ~/.cache/declos/debs, so only the first
run on a machine downloads. The store's logical directory is its physical one, so the
built programs run directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from declos.config import Evaluation, evaluate
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


@pytest.fixture
def eval_files(
    tmp_path: Path, corpus_lock: Lock, deb_store: Store
) -> Callable[[dict[str, str]], tuple[Evaluation, Pkgs]]:
    """`eval_files({name: text, ...})`: write the modules into the test's directory and
    evaluate them with a fresh package set over the corpus lock as `pkgs`; returns the
    evaluation and that package set (the one the modules' overlays apply to)."""

    def run(files: dict[str, str]) -> tuple[Evaluation, Pkgs]:
        for name, text in files.items():
            (tmp_path / name).write_text(text)
        pkgs = Pkgs(deb_store, lock=corpus_lock.path)
        ev = evaluate([str(tmp_path / n) for n in files], special_args={"pkgs": pkgs})
        return ev, pkgs

    return run
