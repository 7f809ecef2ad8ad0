"""Fixtures shared by the fast test packages."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from declos.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A private store under a temporary physical root (logical paths stay /declos/store)."""
    s = Store.open(tmp_path / "root")
    yield s
    s.close()


ServeAndFetch = Callable[..., str]


@pytest.fixture
def serve_and_fetch(tmp_path: Path) -> ServeAndFetch:
    """`serve_and_fetch(argv, port, env=None, timeout=20.0)`: start the server `argv`, GET
    http://127.0.0.1:PORT/ until it answers, stop the server, return the body. A server
    that exits first, or no answer within `timeout` seconds, fails the test with the
    server's output (kept in a file, so a chatty server never blocks on a full pipe)."""

    def run(
        argv: Sequence[str], port: int, env: Mapping[str, str] | None = None, timeout: float = 20.0
    ) -> str:
        log = tmp_path / f"server-{port}.log"
        with open(log, "wb") as out:
            server = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                        return str(r.read().decode())
                except OSError as exc:
                    if server.poll() is not None or time.monotonic() > deadline:
                        output = log.read_text(errors="replace")[-3000:]
                        raise AssertionError(f"{argv[0]} did not serve: {exc}\n{output}") from exc
                    time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=10)

    return run
