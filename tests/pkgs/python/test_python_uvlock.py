"""A project's uv.lock as the Python lock: made by real uv, hashes checked, built from.

uv is an anchor, not a declos dependency: it lives in this test's own venv under
~/.cache/declos/test-uv (made once, pinned), and `uv lock` resolves against the index.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from declos.pkgs import Pkgs
from declos.pkgs.debian.archive import cache_dir
from declos.pkgs.python.errors import PythonError
from declos.pkgs.python.lockfile import PyLock, read_pylock
from declos.pkgs.python.uvlock import loads_uv, read_python_lock
from declos.store import Store
from declos.store.errors import StoreError

UV = "uv==0.13.9"
DECLOS = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "declos"
PYPROJECT = """\
[project]
name = "uvdemo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["six==1.17.0", "idna==3.10", "colorama==0.4.6; sys_platform == 'win32'"]
"""
SIX_WHEEL_SHA = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"


@pytest.fixture(scope="module")
def uv_lock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A uv.lock written by `uv lock` for a project depending on six and idna."""
    base = cache_dir() / "test-uv"
    uv = base / "venv" / "bin" / "uv"
    if not uv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True)
        subprocess.run([str(base / "venv/bin/pip"), "install", "-q", UV], check=True)
    project = tmp_path_factory.mktemp("uvdemo")
    (project / "pyproject.toml").write_text(PYPROJECT)
    subprocess.run(
        [str(uv), "lock", "-q", "--python", "/usr/bin/python3.11"],
        cwd=project,
        env=_uv_env(),
        check=True,
        timeout=300,
    )
    return project / "uv.lock"


def _uv_env() -> dict[str, str]:
    env = {
        **os.environ,
        "UV_CACHE_DIR": str(cache_dir() / "test-uv" / "cache"),
        "UV_NO_CONFIG": "1",
    }
    if "PIP_CERT" in os.environ:
        env.setdefault("SSL_CERT_FILE", os.environ["PIP_CERT"])
    return env


def _pins(lock: PyLock) -> dict[str, tuple[str, list[str], str | None]]:
    return {
        k: (d.version, sorted(w.sha256 for w in d.wheels), d.sdist.sha256 if d.sdist else None)
        for k, d in lock.dists.items()
    }


def test_declos_lock_converts_uv_lock_to_what_uv_export_writes(
    uv_lock: Path, tmp_path: Path
) -> None:
    """`declos lock --python-from uv.lock` writes a PEP 751 pylock.toml with the same
    distributions, versions and archive hashes as uv's own `uv export --format
    pylock.toml` of that lock; running it again changes nothing."""
    argv = [str(DECLOS), "lock", "--python-from", str(uv_lock), "--pylock", "out/pylock.toml"]
    (tmp_path / "out").mkdir()
    r = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert (r.returncode, r.stdout) == (
        0,
        "+ colorama 0.4.6 (python)\n+ idna 3.10 (python)\n+ six 1.17.0 (python)\n",
    ), r.stderr
    assert r.stderr == "out/pylock.toml: 3 Python distributions\n"
    ours = read_pylock(tmp_path / "out" / "pylock.toml")
    uv = cache_dir() / "test-uv" / "venv" / "bin" / "uv"
    subprocess.run(
        [str(uv), "export", "-q", "--frozen", "--no-emit-project", "--format", "pylock.toml"]
        + ["-o", str(tmp_path / "pylock.uv.toml")],
        cwd=uv_lock.parent,
        env=_uv_env(),
        check=True,
        timeout=120,
    )
    theirs = read_pylock(tmp_path / "pylock.uv.toml")
    assert _pins(ours) == _pins(theirs)
    assert ours.get("six").wheels[0].sha256 == SIX_WHEEL_SHA
    again = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert (again.returncode, again.stdout) == (0, "")


def test_environment_built_from_uv_lock(uv_lock: Path, tmp_path: Path) -> None:
    lock = read_python_lock(uv_lock)
    # the project itself (source = { virtual = "." }) is not a distribution to fetch
    assert sorted(lock.dists) == ["colorama", "idna", "six"]
    assert (lock.get("six").version, lock.get("six").wheels[0].sha256) == ("1.17.0", SIX_WHEEL_SHA)
    store = Store(str(tmp_path / "store"), str(tmp_path / "var"))
    try:
        pkgs = Pkgs(store, python_lock=uv_lock)
        [env] = store.realise([pkgs.python3.with_packages(["six", "idna"])])
    finally:
        store.close()
    r = subprocess.run(
        [f"{env}/bin/python", "-c", "import six, idna; print(six.__version__, idna.__version__)"],
        capture_output=True,
        text=True,
        env={},
        check=False,
    )
    assert (r.returncode, r.stdout) == (0, "1.17.0 3.10\n"), r.stderr


def test_a_hash_that_does_not_match_is_refused(uv_lock: Path, tmp_path: Path) -> None:
    bad = "0" * 64
    tampered = tmp_path / "uv.lock"
    tampered.write_text(uv_lock.read_text().replace(SIX_WHEEL_SHA, bad))
    store = Store(str(tmp_path / "store"), str(tmp_path / "var"))
    try:
        pkgs = Pkgs(store, python_lock=tampered)
        with pytest.raises(StoreError, match=f"the lock says {bad}; nothing was kept"):
            store.realise([pkgs.python3.with_packages(["six"])])
        assert not (cache_dir() / "pypi" / bad).exists()
    finally:
        store.close()


ENTRY = """\
version = 1
requires-python = ">=3.11"

[[package]]
name = "tool"
version = "1.0"
source = {{ registry = "https://example.invalid/simple" }}
{artifacts}
dependencies = [
    {{ name = "winonly", marker = "sys_platform == 'win32'" }},
    {{ name = "Typing_Extensions" }},
]
"""
WHEEL = (
    'wheels = [{ url = "https://example.invalid/t/tool-1.0-py3-none-any.whl", hash = "sha256:%s" }]'
)


def test_dependency_edges_keep_only_markers_that_hold_here() -> None:
    lock = loads_uv(ENTRY.format(artifacts=WHEEL % ("a" * 64)), "uv.lock")
    tool = lock.get("tool")
    assert tool.dependencies == ("typing-extensions",)
    assert tool.wheels[0].filename == "tool-1.0-py3-none-any.whl"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version = 2\n", "uv.lock:1: a uv.lock of `version = 1` is expected"),
        ("version = 1\n[[package]\n", "uv.lock:2: not valid TOML"),
        (ENTRY.format(artifacts=WHEEL % "abc"), "uv.lock:4: tool wheel tool-1.0-py3-none-any.whl"),
        (
            ENTRY.format(artifacts="").replace(
                'registry = "https://example.invalid/simple"', 'git = "https://example.invalid/r"'
            ),
            "uv.lock:4: tool 1.0 comes from git https://example.invalid/r, with no archive",
        ),
        (
            ENTRY.format(artifacts='wheels = [{ path = "dist/tool-1.0-py3-none-any.whl" }]'),
            "uv.lock:4: tool wheel: a local `path`",
        ),
    ],
)
def test_hostile_uv_lock_is_an_error_at_its_line(text: str, fragment: str) -> None:
    with pytest.raises(PythonError) as info:
        loads_uv(text, "uv.lock")
    assert str(info.value).startswith(fragment), str(info.value)


def test_declos_shell_uses_a_uv_projects_lock(uv_lock: Path, tmp_path: Path) -> None:
    """With no pylock.toml, `declos shell` reads the project's uv.lock."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "uv.lock").write_bytes(uv_lock.read_bytes())
    (project / "shell.yaml").write_text("python: [six]\n")
    declos = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "declos"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DECLOS_STORE_DIR": str(tmp_path / "store"),
        "DECLOS_STATE_DIR": str(tmp_path / "var"),
    }
    run = "python -c 'import six; print(six.__version__)'"
    r = subprocess.run(
        [str(declos), "shell", "--pure", "--run", run],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (r.returncode, r.stdout) == (0, "1.17.0\n"), r.stderr
    [index] = (project / ".declos/shell").glob("*.files")
    assert str(project / "uv.lock") in index.read_text()


EXTRAS = """\
version = 1

[[package]]
name = "app-lib"
version = "1.0"
source = { registry = "https://example.invalid/simple" }
wheels = [{ url = "https://example.invalid/a/app_lib-1.0-py3-none-any.whl", hash = "sha256:AAA" }]
dependencies = [{ name = "client", extra = ["http2"] }]

[[package]]
name = "client"
version = "2.0"
source = { registry = "https://example.invalid/simple" }
wheels = [{ url = "https://example.invalid/c/client-2.0-py3-none-any.whl", hash = "sha256:CCC" }]
dependencies = [{ name = "core" }]

[package.optional-dependencies]
http2 = [{ name = "h2" }, { name = "winh2", marker = "sys_platform == 'win32'" }]
brotli = [{ name = "brotli" }]
""".replace("AAA", "a" * 64).replace("CCC", "c" * 64)


def test_an_edge_with_extras_brings_the_targets_optional_dependencies() -> None:
    lock = loads_uv(EXTRAS, "uv.lock")
    assert lock.get("app-lib").dependencies == ("client", "h2")
    assert lock.get("client").dependencies == ("core",)
