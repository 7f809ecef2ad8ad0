"""Fixtures for host-layer tests: a real sshd on 127.0.0.1 (tests/store/sshd_server.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "store"))
from sshd_server import Sshd  # noqa: E402


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if not os.path.exists("/usr/sbin/sshd"):
        pytest.fail("/usr/sbin/sshd missing: the test setup installs openssh-server (./run test)")
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()
