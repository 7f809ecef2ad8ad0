"""Locks and a store for shell and stdenv tests: a Debian lock of a few real packages
(jq and libjq-dev are not installed on the test host, so their headers and libraries can
only come from the store), a Python lock resolved by pip, and a store whose logical
directory is its physical one, so the shells' programs run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from declos.pkgs import Pkgs
from declos.pkgs.debian.locking import make_lock, open_archive
from declos.pkgs.python.locking import lock_requirements
from declos.pkgs.stdenv.stdenv import TOOLCHAIN
from declos.store import Store

DEBIAN = (
    "jq",
    "libjq-dev",
    "zlib1g-dev",
    "libyaml-dev",
    "libpython3.11-dev",
    "libssl-dev",
    "libpcre2-dev",
    "libjpeg62-turbo-dev",
    "libfreetype-dev",
    *TOOLCHAIN,
)
PYTHON = ("pyramid==2.0.2", "setuptools<81", "pyyaml==6.0.2", "wheel", "cython", "pillow==11.3.0")
SDIST_ONLY = ["pyyaml", "pillow"]


@pytest.fixture(scope="session")
def locks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with declos.lock and pylock.toml (copied into each test's project)."""
    d = tmp_path_factory.mktemp("locks")
    # libssl-dev also from bookworm alone (3.0.20; the merged sources give bookworm-security's
    # 3.0.22): the other OpenSSL of the nginx override
    make_lock(
        open_archive(), DEBIAN, path=str(d / "declos.lock"), targets={"bookworm": ["libssl-dev"]}
    ).write(d / "declos.lock")
    lock_requirements(list(PYTHON), only_binary=True, no_binary=SDIST_ONLY).write(d / "pylock.toml")
    return d


@pytest.fixture(scope="session")
def shell_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """DECLOS_STORE_DIR / DECLOS_STATE_DIR of a store shared by the session's shells."""
    d = tmp_path_factory.mktemp("shellstore")
    return {"DECLOS_STORE_DIR": str(d / "store"), "DECLOS_STATE_DIR": str(d / "var")}


@pytest.fixture(scope="session")
def build_pkgs(locks: Path, shell_store: dict[str, str]) -> Pkgs:
    """A package set over the session's store (the toolchain is built once)."""
    store = Store(shell_store["DECLOS_STORE_DIR"], shell_store["DECLOS_STATE_DIR"])
    return Pkgs(store, lock=locks / "declos.lock", python_lock=locks / "pylock.toml")


@pytest.fixture
def project(tmp_path: Path, locks: Path) -> Path:
    p = tmp_path / "project"
    p.mkdir()
    for name in ("declos.lock", "pylock.toml"):
        (p / name).write_bytes((locks / name).read_bytes())
    return p


@pytest.fixture
def base_env(tmp_path: Path, shell_store: dict[str, str]) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {"PATH": os.environ["PATH"], "HOME": str(home), "TERM": "dumb", **shell_store}
