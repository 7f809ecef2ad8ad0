"""`declos lock` locks the configuration's Python distributions into pylock.toml (beside
declos.lock): what the evaluation asked for is recorded (no lock is needed to evaluate),
resolved by pip with hashes, kept on the next run, moved only by `--update NAME`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from declos.config import evaluate
from declos.pkgs import Pkgs
from declos.pkgs.python.errors import PythonError
from declos.pkgs.python.lockfile import read_pylock
from declos.pkgs.python.locking import lock_requirements, relock
from declos.pkgs.python.recording import RecordingLock
from declos.system.build import read_values

HERE = Path(__file__).parent
DECLOS = HERE.parents[2] / ".venv" / "bin" / "declos"
MACHINE = """\
def config(config, pkgs, lib, options):
    return {"environment.systemPackages": [pkgs.python3.with_packages(["six"])]}
"""


def declos_lock(d: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DECLOS_STATE_DIR": str(d / "var"), "DECLOS_STORE_DIR": str(d / "s")}
    return subprocess.run(
        [str(DECLOS), "lock", "-c", "machine.py", *args],
        cwd=d,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def python_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.endswith("(python)")]


def test_lock_writes_keeps_and_updates_pylock(tmp_path: Path) -> None:
    (tmp_path / "machine.py").write_text(MACHINE)
    old = lock_requirements(["six==1.16.0"], path=str(tmp_path / "pylock.toml"))
    old.roots = ("six",)
    old.write(tmp_path / "pylock.toml")
    before = (tmp_path / "pylock.toml").read_bytes()

    kept = declos_lock(tmp_path)
    assert kept.returncode == 0, kept.stderr
    assert python_lines(kept.stdout) == []
    assert not (tmp_path / "declos.lock").exists()  # no Debian package is used
    assert (tmp_path / "pylock.toml").read_bytes() == before  # no pip run, no rewrite

    moved = declos_lock(tmp_path, "--update", "six")
    assert moved.returncode == 0, moved.stderr
    [line] = python_lines(moved.stdout)
    assert line.startswith("~ six 1.16.0 -> ") and line != "~ six 1.16.0 -> 1.16.0 (python)"
    lock = read_pylock(tmp_path / "pylock.toml")
    assert sorted(lock.dists) == ["six"] and lock.roots == ("six",)
    [wheel] = lock.get("six").wheels
    assert wheel.filename.endswith("-py2.py3-none-any.whl") and len(wheel.sha256) == 64


def test_lock_creates_pylock_from_nothing(tmp_path: Path) -> None:
    (tmp_path / "machine.py").write_text(MACHINE)
    r = declos_lock(tmp_path)
    assert r.returncode == 0, r.stderr
    [line] = python_lines(r.stdout)
    version = read_pylock(tmp_path / "pylock.toml").get("six").version
    assert line == f"+ six {version} (python)"
    assert (tmp_path / "pylock.toml").read_text().endswith('[tool.declos]\nroots = ["six"]\n')


def test_relock_keeps_pins_and_says_how_to_move_them(tmp_path: Path) -> None:
    old = lock_requirements(["six==1.16.0"], path=str(tmp_path / "pylock.toml"))
    with pytest.raises(PythonError) as err:
        relock(["six>=1.17"], old=old, path=str(tmp_path / "pylock.toml"))
    assert str(err.value).startswith("pip could not resolve six>=1.17:")
    assert str(err.value).endswith("`declos lock --update NAME` lets NAME move)")


def test_evaluation_records_what_an_application_and_an_sdist_ask_for(tmp_path: Path) -> None:
    shutil.copytree(HERE / "hello_app", tmp_path / "app")
    (tmp_path / "m.py").write_text(
        "def config(config, pkgs, lib, options):\n"
        "    py = pkgs.python3\n"
        f"    app = py.build_application({str(tmp_path / 'app')!r})\n"
        "    yaml = py.dist('PyYAML', sdist=True)\n"
        "    return {'environment.systemPackages': [app, py.with_packages([yaml])]}\n"
    )
    pkgs = Pkgs(recording=True)
    read_values(evaluate([str(tmp_path / "m.py")], special_args={"pkgs": pkgs}))
    recorded = pkgs.python3.lock
    assert isinstance(recorded, RecordingLock)
    assert recorded.requirements == {
        "pyramid": "pyramid",
        "flit-core": "flit_core>=3.4,<5",
        "pyyaml": "PyYAML",
        "setuptools": "setuptools",
        "wheel": "wheel",
    }
    assert recorded.sdists == {"pyyaml"}
    assert "libpython3.11-dev" in pkgs.debian.recorded  # the sdist build's headers


@pytest.mark.parametrize("roots", ["roots = 3", 'roots = ["six", 1]'])
def test_malformed_roots_are_refused_with_the_line(tmp_path: Path, roots: str) -> None:
    p = tmp_path / "pylock.toml"
    p.write_text(f'lock-version = "1.0"\n\n[tool.declos]\n{roots}\n')
    with pytest.raises(PythonError, match=r"pylock.toml:4: \[tool.declos\] roots must be a list"):
        read_pylock(p)
