"""`declos lock --python-from` / `--python-requirements`: pylock.toml (PEP 751) from what
pip produces, and from a requirements file.

pip is the anchor here: a pinned pip (>= 25.1, which has `pip lock`) in this test's own venv
under ~/.cache/declos/test-pip (made once), resolving against the index pip is configured
for. The uv.lock conversion is tested beside uv's own export (test_python_uvlock.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from declos.pkgs.debian.archive import cache_dir
from declos.pkgs.python.lockfile import PyLock, read_pylock

PIP = "pip==26.3"
DECLOS = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "declos"
REQUIREMENTS = ["six==1.17.0", "idna==3.10"]
SIX_WHEEL_SHA = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"


@pytest.fixture(scope="module")
def pip() -> list[str]:
    """The pinned pip, as an argv prefix."""
    venv = cache_dir() / "test-pip" / "venv"
    if (
        not (venv / "bin" / "pip").exists()
        or b"pip 26.3 "
        not in subprocess.run(
            [str(venv / "bin" / "pip"), "--version"], capture_output=True, check=False
        ).stdout
    ):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", PIP], check=True, timeout=300)
    return [str(venv / "bin" / "python"), "-m", "pip"]


def declos_lock(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DECLOS), "lock", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def pins(lock: PyLock) -> dict[str, tuple[str, list[str]]]:
    return {k: (d.version, sorted(w.sha256 for w in d.wheels)) for k, d in lock.dists.items()}


def test_pip_lock_and_pip_report_import_to_the_same_pylock(pip: list[str], tmp_path: Path) -> None:
    """`pip lock` (PEP 751, no dependency edges) and `pip install --report` (JSON, edges
    from metadata) of the same requirements become the same pins, with hashes."""
    quiet = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run(
        [*pip, "lock", "-q", *REQUIREMENTS, "-o", str(tmp_path / "pylock.pip.toml")],
        env=quiet,
        check=True,
        timeout=300,
        capture_output=True,
    )
    subprocess.run(
        [*pip, "install", "-q", "--dry-run", "--ignore-installed", "--report"]
        + [str(tmp_path / "report.json"), *REQUIREMENTS],
        env=quiet,
        check=True,
        timeout=300,
        capture_output=True,
    )
    r = declos_lock(tmp_path, "--python-from", "pylock.pip.toml", "--pylock", "pylock.a.toml")
    assert (r.returncode, r.stdout) == (0, "+ idna 3.10 (python)\n+ six 1.17.0 (python)\n"), (
        r.stderr
    )
    r = declos_lock(tmp_path, "--python-from", "report.json", "--pylock", "pylock.b.toml")
    assert r.returncode == 0, r.stderr
    from_lock = read_pylock(tmp_path / "pylock.a.toml")
    from_report = read_pylock(tmp_path / "pylock.b.toml")
    assert pins(from_lock) == pins(from_report)
    assert pins(from_lock)["six"] == ("1.17.0", [SIX_WHEEL_SHA])
    assert from_report.get("six").dependencies == ()  # the report's edges are kept
    assert 'created-by = "declos"' in (tmp_path / "pylock.b.toml").read_text()


def test_requirements_file_is_locked_with_hashes(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("# the app\nsix==1.17.0  # pinned\n\n")
    r = declos_lock(tmp_path, "--python-requirements", "requirements.txt")
    assert (r.returncode, r.stdout) == (0, "+ six 1.17.0 (python)\n"), r.stderr
    assert r.stderr == "pylock.toml: 1 Python distributions\n"
    lock = read_pylock(tmp_path / "pylock.toml")
    assert pins(lock) == {"six": ("1.17.0", [SIX_WHEEL_SHA])}


@pytest.mark.parametrize(
    ("name", "text", "args", "fragments"),
    [
        (
            "requirements.txt",
            "six\n-e .\n",
            ["--python-requirements"],
            ["requirements.txt:2: pip option '-e' is not supported here"],
        ),
        (
            "requirements.txt",
            "six\nsix >>> 1\n",
            ["--python-requirements"],
            ["requirements.txt:2: not a PEP 508 requirement"],
        ),
        ("requirements.txt", "# nothing\n", ["--python-requirements"], ["no requirements in it"]),
        ("report.json", "[1]\n", ["--python-from"], ["report.json:1: not a pip report"]),
        ("report.json", "{\n  x\n", ["--python-from"], ["report.json:2: not a pip report (JSON)"]),
        (
            "report.json",
            '{"install": [{"metadata": {}}]}',
            ["--python-from"],
            ["report.json: not a pip installation report", "KeyError"],
        ),
        ("uv.lock", "version = 2\n", ["--python-from"], ["uv.lock:1: a uv.lock of `version = 1`"]),
        (
            "pylock.x.toml",
            'lock-version = "2.0"\n',
            ["--python-from"],
            ['pylock.x.toml:1: `lock-version` must be "1.0"'],
        ),
    ],
)
def test_hostile_inputs_are_errors_at_their_line_and_write_nothing(
    tmp_path: Path, name: str, text: str, args: list[str], fragments: list[str]
) -> None:
    (tmp_path / name).write_text(text)
    r = declos_lock(tmp_path, *args, name)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    for fragment in fragments:
        assert fragment in r.stderr
    assert sorted(os.listdir(tmp_path)) == [name]


def test_python_only_modes_refuse_a_configuration(tmp_path: Path) -> None:
    r = declos_lock(tmp_path, "-c", "m.py", "--python-from", "uv.lock")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (
        "error: --python-from and --python-requirements write pylock.toml alone; drop -c, "
        "--lock, --update and PKG (or lock them in a separate run)\n"
    )
    r = declos_lock(tmp_path, "--python-from", "a", "--python-requirements", "b")
    assert r.returncode == 2 and "not allowed with argument" in r.stderr
