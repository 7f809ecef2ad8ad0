"""`declos store dump` through the real entry point: output targets, validity, no side effects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from declos.cli.main import main
from declos.store import Store
from declos.store.nar import dump_bytes

REPO = str(Path(__file__).resolve().parents[2])
ENV = {"DECLOS_STORE_DIR": "/declos/store", "DECLOS_STATE_DIR": "/declos/var"}


def _dump(
    root: Path, path: str, stdout: object = subprocess.PIPE
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, **ENV, "PYTHONPATH": REPO}
    return subprocess.run(
        [sys.executable, "-m", "declos", "store", "--root", str(root), "dump", path],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
    )


@pytest.fixture
def tree_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, str, Path]:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    src = tmp_path / "src"
    (src / "bin").mkdir(parents=True)
    (src / "bin/tool").write_bytes(b"#!/bin/sh\necho hi\n")
    (src / "bin/tool").chmod(0o755)
    (src / "big").write_bytes(bytes(range(256)) * 8192)  # 2 MiB: the sendfile path
    (src / "link").symlink_to("bin/tool")
    store = Store.open(tmp_path / "root")
    return store, store.add_path(src), src


def test_dump_appends_to_a_file_opened_for_append(
    tree_store: tuple[Store, str, Path], tmp_path: Path
) -> None:
    store, path, src = tree_store
    out = tmp_path / "out.nar"
    out.write_bytes(b"HEADER")
    with open(out, "ab") as f:
        proc = _dump(tmp_path / "root", path, stdout=f)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == b"HEADER" + dump_bytes(src)


def test_dump_of_a_subpath_and_via_a_symlink(
    tree_store: tuple[Store, str, Path], tmp_path: Path
) -> None:
    store, path, src = tree_store
    proc = _dump(tmp_path / "root", path + "/bin")
    assert proc.returncode == 0 and proc.stdout == dump_bytes(src / "bin")
    (tmp_path / "result").symlink_to(path)
    proc = _dump(tmp_path / "root", str(tmp_path / "result"))
    assert proc.returncode == 0 and proc.stdout == dump_bytes(src)


def test_dump_of_an_invalid_path_fails_and_writes_nothing(
    tree_store: tuple[Store, str, Path], tmp_path: Path
) -> None:
    store, path, _ = tree_store
    half = path + "-half"  # on disk but never registered: what a killed `add` leaves
    os.mkdir(store.real_path(half))
    proc = _dump(tmp_path / "root", half)
    assert proc.returncode == 1 and proc.stdout == b""
    assert f"error: path '{half}' is not valid" in proc.stderr.decode()


def test_dump_of_an_empty_root_creates_nothing(tmp_path: Path) -> None:
    path = "/declos/store/" + "0" * 32 + "-x"
    proc = _dump(tmp_path / "empty", path)
    assert proc.returncode == 1 and f"path '{path}' is not valid" in proc.stderr.decode()
    assert not (tmp_path / "empty").exists()


def test_dump_in_process_to_a_replaced_stdout(
    tree_store: tuple[Store, str, Path], tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    _, path, src = tree_store
    assert main(["store", "--root", str(tmp_path / "root"), "dump", path]) == 0
    assert capsysbinary.readouterr().out == dump_bytes(src)
