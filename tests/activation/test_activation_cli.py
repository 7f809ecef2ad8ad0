"""The activator as a program: exit codes, the lock, running on bare python3, kill -9."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from activation_closures import ClosureMaker, base_root, snapshot

import declos
from declos.activation.main import main
from declos.system.activator import source_files

REPO = Path(declos.__file__).resolve().parent.parent


def _run(
    root: Path,
    top: str,
    action: str = "switch",
    env: dict[str, str] | None = None,
    python: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    cmd = (python or [sys.executable]) + [
        "-m",
        "declos.activation",
        "--system",
        top,
        "--root",
        str(root),
        action,
    ]
    e = {k: v for k, v in os.environ.items() if not k.startswith("DECLOS_")}
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=REPO, timeout=60)


def test_usage_errors_exit_1(rooted, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--system", "/x", "frobnicate"])
    assert exc.value.code == 1
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err
    rc, out = rooted.run("/declos/store/00000000000000000000000000000000-nothing")
    assert rc == 1
    assert "is not a declos system closure: " in out


def test_bad_closure_format_is_rejected_before_any_change(rooted):
    top = rooted.make.system(etc={"declos/a": "a\n"})
    meta = rooted.make.phys(top) / "system.json"
    meta.write_text(meta.read_text().replace('"format": 1', '"format": 7'))
    before = snapshot(rooted.root)
    rc, out = rooted.run(top)
    assert rc == 1
    assert "unsupported format 7 (this activator reads format 1)" in out
    after = snapshot(rooted.root)
    assert {k: v for k, v in after.items() if not k.startswith("declos/var")} == before


def test_lock_contention_exits_1(rooted):
    top = rooted.make.system()
    lock = rooted.p("/declos/var/activation/lock")
    lock.parent.mkdir(parents=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        rc = subprocess.run(
            [
                sys.executable,
                "-m",
                "declos.activation",
                "--system",
                top,
                "--root",
                str(rooted.root),
                "switch",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
    finally:
        os.close(fd)
    assert rc.returncode == 1
    assert f"error: another declos activation is running (lock {lock} is held)" in rc.stderr
    assert not os.path.lexists(rooted.p("/etc/.declos-static"))


def test_runs_on_bare_python3_with_only_jeepney(tmp_path):
    """The activator store path holds declos/activation, declos/common and jeepney; the
    host has python3 only."""
    lib = tmp_path / "activator" / "lib"
    # exactly the files the builder ships (declos/system/activator.py), nothing else
    for rel, source in source_files():
        (lib / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, lib / rel)
    root = tmp_path / "root"
    base_root(root)
    top = ClosureMaker(root).system(
        etc={"declos/a": "a\n"}, users={"alice": {"isNormalUser": True}}
    )
    py = ["/usr/bin/python3", "-S", "-P"]
    env = {"PYTHONPATH": str(lib)}
    r = subprocess.run(
        py + ["-c", "import declos.activation.systemd_dbus, declos.activation.main"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        py + ["-m", "declos.activation", "--system", top, "--root", str(root), "switch"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert (root / "etc/declos/a").is_symlink()


@pytest.mark.parametrize(
    "crash_at", ["journal:1", "users:1", "users:2", "etc:1", "etc:2", "etc:4", "finish:1"]
)
def test_kill_9_mid_switch_then_switch_again_is_consistent(tmp_path, crash_at):
    def prepared(name: str) -> tuple[Path, str]:
        root = tmp_path / name
        base_root(root)
        mk = ClosureMaker(root)
        a = mk.system(
            etc={
                "declos/a": "a1\n",
                "declos/b": "b\n",
                "declos/copy": {"text": "c1\n", "mode": "0640"},
            },
            users={"alice": {"isNormalUser": True}, "bob": {"isNormalUser": True}},
        )
        b = mk.system(
            etc={
                "declos/a": "a2\n",
                "declos/new/n": "n\n",
                "declos/copy": {"text": "c2\n", "mode": "0600"},
                "motd": {"text": "declos\n", "replaceExisting": True},
            },
            users={
                "alice": {"isNormalUser": True, "extraGroups": ["users"]},
                "carol": {"isNormalUser": True},
            },
        )
        assert _run(root, a).returncode == 0
        return root, b

    ref_root, b = prepared("reference")
    assert _run(ref_root, b).returncode == 0
    root, b2 = prepared("crashed")
    assert b2 == b
    r = _run(root, b, env={"DECLOS_ACTIVATION_CRASH_AT": crash_at})
    assert r.returncode == -9, r.stderr
    r = _run(root, b)
    assert r.returncode == 0, r.stderr
    assert f"warning: the previous activation of {b} was interrupted; finishing it" in r.stderr
    assert snapshot(root) == snapshot(ref_root)
    r = _run(root, b)
    assert r.stderr.strip() == f"no changes: {b} is already active"


def test_root_without_an_os_tree_is_refused_before_any_change(tmp_path, capsys):
    """`switch --root` into an empty directory: exit 1, a hint, and not one file written."""
    empty = tmp_path / "empty"
    empty.mkdir()
    rc = main(
        [
            "--system",
            "/declos/store/00000000000000000000000000000000-x",
            "--root",
            str(empty),
            "switch",
        ]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert (
        f"error: --root {empty}: etc/passwd, etc/group missing (symlinks in the tree resolve "
        "inside it, as in a chroot); --root activates into an existing system tree" in err
    )
    assert list(empty.iterdir()) == []
