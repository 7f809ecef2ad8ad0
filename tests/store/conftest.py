"""Fixtures for store tests: private stores, a real sshd on 127.0.0.1, a private Nix store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from sshd_server import Sshd  # noqa: E402

NIX_ENV = {
    "NIX_CONFIG": "build-users-group =\nexperimental-features = nix-command\nsubstituters =\n"
}


@pytest.fixture
def nix_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECLOS_STORE_DIR", "/nix/store")


class Nix:
    """Runs real Nix 2.8 against a chroot store under a temp dir (never /nix, no daemon)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store_arg = f"local?root={root}"
        if not shutil.which("nix-store"):
            raise RuntimeError("nix-store not found: the test setup installs nix-bin (./run test)")

    def run(self, *args: str, input: bytes | None = None) -> bytes:
        env = {**os.environ, **NIX_ENV}
        env.pop("NIX_REMOTE", None)
        proc = subprocess.run(list(args), input=input, capture_output=True, env=env, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"{args} failed: {proc.stderr.decode()}")
        return proc.stdout

    def add(self, path: Path | str) -> str:
        return self.run("nix-store", "--store", self.store_arg, "--add", str(path)).decode().strip()

    def dump(self, path: str) -> bytes:
        """Nix's NAR of a path in its chroot store (--dump reads the file system directly)."""
        return self.run("nix-store", "--dump", str(self.root) + path)

    def eval(self, expr: str) -> str:
        out = self.run(
            "nix-instantiate",
            "--store",
            self.store_arg,
            "--eval",
            "--strict",
            "--json",
            "--expr",
            expr,
        )
        import json

        return json.loads(out)

    def instantiate(self, expr: str) -> str:
        """Write the derivation into the private Nix store; returns its .drv path."""
        out = self.run(
            "nix-instantiate", "--store", self.store_arg, "--no-gc-warning", "--expr", expr
        )
        return out.decode().strip()

    def drv_text(self, drv_path: str) -> str:
        return (self.root / drv_path.lstrip("/")).read_text()


@pytest.fixture
def nix(tmp_path: Path) -> Nix:
    return Nix(tmp_path / "nixroot")


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Sshd:
    if not os.path.exists("/usr/sbin/sshd"):
        raise RuntimeError(
            "/usr/sbin/sshd missing: the test setup installs openssh-server (./run test)"
        )
    d = Sshd(tmp_path_factory.mktemp("sshd"))
    yield d
    d.stop()
