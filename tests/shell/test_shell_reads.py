"""`declos shell`'s cache keyed on every file the evaluation read, and direnv's `use declos`.

The real CLI in a fresh store; shells with `env` only (no package to build), so each
evaluation takes a Python start and an empty profile. direnv is Debian's (TEST_APT).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from declos.shell.reads import keyed_files, recording, source_of
from declos.store import Store
from declos.store.gc import collect_garbage

DECLOS = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "declos"

SHELL_PY = """\
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import helper  # noqa: E402

with open(HERE / "evaluations.log", "a") as log:  # written, so not a key
    log.write("x")


def shell(pkgs):
    return {
        "env": {"A": helper.VALUE, "B": (HERE / "data.txt").read_text().strip()},
        "shell_hook": "echo hook ran",
    }
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("echo bashrc ran\n")
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "TERM": "dumb",
        "DECLOS_STORE_DIR": str(tmp_path / "store"),
        "DECLOS_STATE_DIR": str(tmp_path / "var"),
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "project"
    p.mkdir()
    (p / "shell.py").write_text(SHELL_PY)
    (p / "helper.py").write_text('VALUE = "one"\n')
    (p / "data.txt").write_text("first\n")
    return p


def declos(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DECLOS), *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )


def evaluations(project: Path) -> int:
    return len((project / "evaluations.log").read_text())


def test_editing_an_imported_helper_or_a_read_file_reevaluates(
    project: Path, env: dict[str, str]
) -> None:
    run = ("shell", "--run", 'echo "$A $B"')
    assert declos(project, env, *run).stdout == "hook ran\none first\n"
    assert declos(project, env, *run).stdout == "hook ran\none first\n"
    assert evaluations(project) == 1  # the second entry was a cache hit
    # Another size: CPython trusts a .pyc whose source has the same mtime second and size.
    (project / "helper.py").write_text('VALUE = "two too"\n')
    assert declos(project, env, *run).stdout == "hook ran\ntwo too first\n"
    (project / "data.txt").write_text("second\n")
    assert declos(project, env, *run).stdout == "hook ran\ntwo too second\n"
    assert evaluations(project) == 3
    # Back to earlier contents: their entries are still there, hits.
    (project / "data.txt").write_text("first\n")
    assert declos(project, env, *run).stdout == "hook ran\ntwo too first\n"
    (project / "helper.py").write_text('VALUE = "one"\n')
    assert declos(project, env, *run).stdout == "hook ran\none first\n"
    assert evaluations(project) == 3
    [index] = (project / ".declos/shell").glob("*.files")
    expected = ["data.txt", "declos.lock", "helper.py", "pylock.toml", "shell.py"]
    assert json.loads(index.read_text()) == [str(project / n) for n in expected]


def test_direnv_output_watches_every_file_read(project: Path, env: dict[str, str]) -> None:
    r = declos(project, env, "shell", "--direnv")
    assert r.returncode == 0, r.stderr
    profile = os.readlink(project / ".declos/gcroots/shell")
    lines = r.stdout.splitlines()
    watched = [f"watch_file {project}/{n}" for n in ("data.txt", "declos.lock", "helper.py")]
    assert lines[:3] == watched
    assert lines[3:5] == [f"watch_file {project}/pylock.toml", f"watch_file {project}/shell.py"]
    assert "export A=one" in lines and "export B=first" in lines
    assert f"PATH_add {profile}/bin" in lines
    assert lines[-2:] == ["export IN_DECLOS_SHELL=impure", "echo hook ran"]


def test_use_declos_in_real_direnv(project: Path, env: dict[str, str], tmp_path: Path) -> None:
    """direnv loads `use declos`, and reloads when a file the evaluation read changes."""
    direnv = shutil.which("direnv")
    assert direnv, "direnv is in run's TEST_APT"
    config = tmp_path / "config"
    (config / "direnv").mkdir(parents=True)
    hook = declos(project, env, "hook", "direnv").stdout
    (config / "direnv/direnvrc").write_text(hook)
    (project / ".envrc").write_text("use declos\n")
    denv = {**env, "XDG_CONFIG_HOME": str(config), "XDG_DATA_HOME": str(tmp_path / "data")}

    def export(environment: dict[str, str]) -> dict[str, str | None]:
        r = subprocess.run(
            [direnv, "export", "json"],
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout) if r.stdout.strip() else {}

    subprocess.run([direnv, "allow", str(project)], env=denv, check=True, timeout=60)
    loaded = export(denv)
    profile = os.readlink(project / ".declos/gcroots/shell")
    assert (loaded["A"], loaded["B"], loaded["IN_DECLOS_SHELL"]) == ("one", "first", "impure")
    assert str(loaded["PATH"]).split(":")[:2] == [f"{profile}/bin", *env["PATH"].split(":")[:1]]
    inside = {**denv, **{k: v for k, v in loaded.items() if v is not None}}
    assert export(inside) == {}  # nothing changed: direnv does not run .envrc again
    (project / "helper.py").write_text('VALUE = "two too"\n')
    os.utime(project / "helper.py", (1, 2_000_000_000))  # direnv compares mtimes
    assert export(inside)["A"] == "two too"


def test_run_reads_bashrc_only_when_interactive(project: Path, env: dict[str, str]) -> None:
    """nix-shell's rc: `[ -n "$PS1" ] && source ~/.bashrc`, so --run skips the user's rc."""
    assert declos(project, env, "shell", "--run", "echo in").stdout == "hook ran\nin\n"
    r = declos(project, env, "shell", "--command", "echo in")
    assert r.stdout == "bashrc ran\nhook ran\nin\n"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("def shell(pkgs):\n    return {'env': {'A': undefined}}\n", "shell.py:2: NameError"),
        ("x = 1\ndef shell(pkgs)\n", "shell.py:2: syntax error"),
        ("import sys\nsys.exit(3)\n", "shell.py:2: SystemExit"),
        ("x = 1\n", "define `def shell(pkgs):`"),
    ],
)
def test_failing_shell_py_is_an_error_at_its_line(
    project: Path, env: dict[str, str], text: str, fragment: str
) -> None:
    (project / "shell.py").write_text(text)
    r = declos(project, env, "shell", "--run", "true")
    assert r.returncode == 1
    assert r.stderr.startswith("error: ") and fragment in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not (project / ".declos/shell").exists()


def test_recording_is_scoped_to_its_block_and_thread(tmp_path: Path) -> None:
    files = [tmp_path / n for n in ("inside", "after", "thread", "written")]
    for f in files[:3]:
        f.write_text("x")

    def read_in_thread() -> None:
        files[2].read_text()

    with recording() as seen:
        files[0].read_text()
        files[3].write_text("y")
        os.close(os.open(files[3], os.O_WRONLY))
        worker = threading.Thread(target=read_in_thread)
        worker.start()
        worker.join()
        (tmp_path / "missing").exists()
        with pytest.raises(FileNotFoundError):
            open(tmp_path / "absent")  # noqa: SIM115
    files[1].read_text()
    assert seen == {str(files[0]), str(tmp_path / "absent")}


def test_keyed_files_maps_bytecode_and_drops_installed_code(tmp_path: Path) -> None:
    pyc = str(tmp_path / "__pycache__" / "helper.cpython-311.pyc")
    assert source_of(pyc) == str(tmp_path / "helper.py")
    assert source_of(str(tmp_path / "x.pyc")) == str(tmp_path / "x.pyc")
    stdlib = os.__file__
    store = tmp_path / "store"
    paths = [pyc, stdlib, str(store / "abc-x" / "f"), "/proc/self/status", str(tmp_path)]
    assert keyed_files(paths, [str(store)]) == [str(tmp_path / "helper.py")]


GLOB_PY = """\
from pathlib import Path

HERE = Path(__file__).parent


def shell(pkgs):
    confs = sorted(p.name for p in (HERE / "conf.d").glob("*.conf"))
    with open(HERE / "evaluations.log", "a") as log:
        log.write("x")
    return {"env": {"CONFS": " ".join(confs)}}
"""


def test_a_file_added_to_a_globbed_directory_reevaluates(
    project: Path, env: dict[str, str]
) -> None:
    """A directory the evaluation listed (glob, iterdir, os.walk) is a key by its entry
    names: a new file there is seen, removing it again is a hit on the earlier entry."""
    (project / "conf.d").mkdir()
    (project / "conf.d" / "a.conf").write_text("")
    (project / "shell.py").write_text(GLOB_PY)
    run = ("shell", "--run", 'echo "$CONFS"')
    assert declos(project, env, *run).stdout == "a.conf\n"
    assert declos(project, env, *run).stdout == "a.conf\n"
    assert evaluations(project) == 1
    (project / "conf.d" / "b.conf").write_text("")
    assert declos(project, env, *run).stdout == "a.conf b.conf\n"
    assert evaluations(project) == 2
    (project / "conf.d" / "b.conf").unlink()
    assert declos(project, env, *run).stdout == "a.conf\n"
    assert evaluations(project) == 2
    [index] = (project / ".declos/shell").glob("*.files")
    expected = ["conf.d/", "declos.lock", "pylock.toml", "shell.py"]
    assert json.loads(index.read_text()) == [f"{project}/{n}" for n in expected]
    lines = declos(project, env, "shell", "--direnv").stdout.splitlines()
    assert lines[0] == f"watch_file {project}/conf.d"


ROOTED_PY = """\
import os


def shell(pkgs):
    name = os.path.basename(__file__)[:-3]
    return {"packages": [pkgs.write_text(name, name, destination="share/" + name)]}
"""


def test_one_gc_root_per_project_follows_the_shell_entered_last(
    project: Path, env: dict[str, str]
) -> None:
    """Two shells of one project: the root points at the one entered last, a cache hit
    included; `gc` keeps it and collects the other; removing the project's link lets
    `gc` collect the shell, and entering it again rebuilds it."""
    for name in ("one", "two"):
        (project / f"{name}.py").write_text(ROOTED_PY)
    link = project / ".declos/gcroots/shell"
    profiles = {}
    for name in ("one", "two", "one"):
        r = declos(
            project,
            env,
            "shell",
            f"{name}.py",
            "--run",
            f'cat "$(dirname "${{PATH%%:*}}")/share/{name}"',
        )
        assert (r.returncode, r.stdout) == (0, name), r.stderr
        profiles[name] = os.readlink(link)
    assert os.readlink(link) == profiles["one"] != profiles["two"]
    auto = Path(env["DECLOS_STATE_DIR"]) / "gcroots/auto"
    assert [os.readlink(p) for p in auto.iterdir()] == [str(link)]  # one root, not one per run
    store = Store(env["DECLOS_STORE_DIR"], env["DECLOS_STATE_DIR"])
    try:
        collect_garbage(store)
        assert os.path.isdir(store.real_path(profiles["one"]))
        assert not os.path.exists(store.real_path(profiles["two"]))
        link.unlink()
        collect_garbage(store)
        assert not os.path.exists(store.real_path(profiles["one"]))
    finally:
        store.close()
    r = declos(project, env, "shell", "one.py", "--run", 'cat "$(dirname "${PATH%%:*}")/share/one"')
    assert (r.returncode, r.stdout) == (0, "one"), r.stderr
    assert os.readlink(link) == profiles["one"]
