"""`declos env -c FILE`: the configuration's `pkgs.overlays` apply to profile installs as
they do to `declos build` (issue 12); without -c the plain lock is used. Run through the
real CLI, in a store and state under a temporary root; nothing is fetched (the overlay
packages are built in-process, the lock is a hand-written one beside the configuration)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from declos.pkgs.debian.lockfile import Lock, LockedPackage, LockedSuite

DECLOS = str(Path(sys.executable).with_name("declos"))
OVERLAYS = """
def tools(final, prev):
    return {"hello": prev.write_shell_script_bin("hello", "echo hello " + final.greeting),
            "jq": prev.write_shell_script_bin("jq", "echo overlaid jq")}

def greeting(final, prev):
    return {"greeting": "from the overlays"}

config = {"pkgs": {"overlays": [tools, greeting]}}
"""
BROKEN = """
def broken(final, prev):
    table = {}
    return {"jq": table["missing"]}

config = {"pkgs": {"overlays": [broken]}}
"""


def _lock(path: Path) -> None:
    def pkg(name: str, *deps: str) -> LockedPackage:
        return LockedPackage(
            name, "1-1", "amd64", "bookworm", f"pool/main/x/{name}_1-1_amd64.deb", 9, "0" * 64, deps
        )

    Lock(
        suites=[LockedSuite("bookworm", "bookworm", "", "1" * 64, {"main": "2" * 64})],
        essential=("bash",),
        roots=("jq",),
        packages={p.name: p for p in (pkg("jq", "libc6"), pkg("libc6"))},
    ).write(path)


def _env(tmp: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "USER": "alice", "DECLOS_STATE_DIR": str(tmp / "state")}
    return subprocess.run(
        [DECLOS, "env", "--root", str(tmp / "root"), *argv],
        cwd=tmp / "elsewhere",
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_declos_env_applies_the_configurations_overlays(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (conf / "overlays.py").write_text(OVERLAYS)
    _lock(conf / "declos.lock")  # found beside the first -c file
    proc = _env(tmp_path, "-c", str(conf / "overlays.py"), "-i", "hello", "jq")
    assert proc.returncode == 0, proc.stderr
    assert "installed hello, jq; generation 1" in proc.stderr
    query = _env(tmp_path, "-q")
    assert query.stdout == "hello\thello\njq\tjq\n"
    root = tmp_path / "root"
    (env_dir,) = root.glob("declos/store/*-user-environment")
    target = os.readlink(env_dir / "bin" / "hello")  # a logical store path
    script = root / target.lstrip("/")
    assert subprocess.run([script], capture_output=True, text=True).stdout == (
        "hello from the overlays\n"
    )
    assert (
        (root / os.readlink(env_dir / "bin" / "jq").lstrip("/"))
        .read_text()
        .endswith("echo overlaid jq")
    )
    # without the configuration, no overlays: `hello` is not a package of the lock
    plain = _env(tmp_path, "--lock", str(conf / "declos.lock"), "-i", "hello")
    assert plain.returncode == 1
    assert plain.stderr.startswith("error: Debian package 'hello' is not in")


def test_an_overlay_that_raises_is_reported_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "broken.py").write_text(BROKEN)
    _lock(tmp_path / "declos.lock")
    proc = _env(tmp_path, "-c", str(tmp_path / "broken.py"), "-i", "jq")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr == (
        f"error: {tmp_path / 'broken.py'}:4: pkgs.overlays[0] (broken) raised KeyError: 'missing'\n"
    )
