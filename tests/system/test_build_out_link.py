"""`declos build` leaves ./result, an indirect GC root, as nix-build does.

Everything runs through the real CLI against a real store under --root: the closure
must survive `declos store gc` while the link exists and be collected once it is gone.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from declos.testing.plugin import run_declos

MODULES = Path(__file__).resolve().parents[2] / "modules"
CONFIG = f"""\
imports:
  - {MODULES}/networking/hostname.py
  - {MODULES}/system/systemd.py
networking.hostName: linked
systemd.services.hello:
  script: "echo hello"
  wantedBy: [multi-user.target]
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The working directory the user runs `declos build` in (where ./result appears)."""
    w = tmp_path / "work"
    w.mkdir()
    (w / "machine.yaml").write_text(CONFIG)
    return w


@pytest.fixture
def root(tmp_path: Path) -> str:
    return str(tmp_path / "root")


def declos(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_declos(work, *args, timeout=120)


def build(work: Path, root: str, *extra: str) -> str:
    result = declos(work, "build", "-c", "machine.yaml", "--root", root, "--bare", *extra)
    assert result.returncode == 0, result.stderr
    top = result.stdout.strip()
    assert top.endswith("-declos-system-linked")
    return top


def gc(work: Path, root: str) -> str:
    result = declos(work, "store", "--root", root, "gc")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_result_link_keeps_the_closure_until_it_is_removed(work: Path, root: str) -> None:
    top = build(work, root)
    assert os.readlink(work / "result") == top
    roots = declos(work, "store", "--root", root, "roots")
    assert f"-> {top}" in roots.stdout
    out = gc(work, root)
    assert f"'{top}'" not in out
    assert os.path.isdir(root + top)
    os.unlink(work / "result")
    out = gc(work, root)
    assert f"deleting '{top}'" in out
    assert not os.path.lexists(root + top)


def test_no_out_link_leaves_nothing_to_keep_the_closure(work: Path, root: str) -> None:
    top = build(work, root, "--no-out-link")
    assert sorted(p.name for p in work.iterdir()) == ["machine.yaml"]
    assert f"deleting '{top}'" in gc(work, root)
    assert not os.path.lexists(root + top)


def test_out_link_names_the_link_and_replaces_an_old_one(work: Path, root: str) -> None:
    (work / "sys").symlink_to("/nowhere")
    top = build(work, root, "-o", "sys")
    assert os.readlink(work / "sys") == top
    assert not os.path.lexists(work / "result")
    gc(work, root)
    assert os.path.isdir(root + top)
    top2 = build(work, root, "--out-link", str(work / "sys"))
    assert top2 == top and os.readlink(work / "sys") == top


def test_out_link_refuses_to_overwrite_a_file(work: Path, root: str) -> None:
    (work / "result").write_text("mine\n")
    result = declos(work, "build", "-c", "machine.yaml", "--root", root, "--bare")
    assert result.returncode == 1
    assert result.stderr == (
        "error: cannot create the out link result: "
        "result exists and is not a symbolic link; remove it or use -o PATH\n"
    )
    assert result.stdout == ""
    assert (work / "result").read_text() == "mine\n"


def test_out_link_flags_exclude_each_other(work: Path, root: str) -> None:
    result = declos(work, "build", "-c", "machine.yaml", "--root", root, "--no-out-link", "-o", "x")
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr
