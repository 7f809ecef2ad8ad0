"""`declos shell` end to end: the real CLI, real Debian packages and wheels in a store."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

DECLOS = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "declos"

SHELL_YAML = """\
python: [pyramid]
packages: [jq]
env: {GREETING: hello}
shell_hook: echo "hook ran"
"""
JQ_C = """\
#include <stdio.h>
#include <jq.h>
int main(void) { jq_state *jq = jq_init(); puts(jq ? "libjq from the store" : "no"); jq_teardown(&jq); return 0; }
"""


def shell(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DECLOS), "shell", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def profile_of(project: Path) -> str:
    return os.readlink(project / ".declos/gcroots/shell")


def test_shell_yaml_gives_one_path_entry_python_env_variables_and_hook(
    project: Path, base_env: dict[str, str]
) -> None:
    (project / "shell.yaml").write_text(SHELL_YAML)
    script = 'echo "$GREETING"; python -c "import sys, pyramid; print(sys.prefix)"; jq --version'
    r = shell(project, {**base_env, "OUTER": "1"}, "--pure", "--run", script)
    assert r.returncode == 0, r.stderr
    profile = profile_of(project)
    assert r.stdout == f"hook ran\nhello\n{profile}\njq-1.6\n"
    r = shell(project, {**base_env, "OUTER": "1"}, "--pure", "--run", 'echo "$PATH|${OUTER-unset}"')
    assert r.stdout == f"hook ran\n{profile}/bin:/usr/local/bin:/usr/bin:/bin|unset\n"
    r = shell(
        project, {**base_env, "OUTER": "1"}, "--pure", "--keep", "OUTER", "--run", "echo $OUTER"
    )
    assert r.stdout == "hook ran\n1\n"
    r = shell(project, {**base_env, "OUTER": "1"}, "--run", 'echo "${PATH%%:*}|$OUTER"')
    assert r.stdout == f"hook ran\n{profile}/bin|1\n"


def test_c_build_finds_store_headers_and_libraries(
    project: Path, base_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "t.c").write_text(JQ_C)
    build = (
        f'cc {tmp_path}/t.c -ljq -o {tmp_path}/t -Wl,-rpath,"$DECLOS_RPATH" && ' + f"{tmp_path}/t"
    )
    r = shell(
        project,
        base_env,
        "-p",
        "libjq-dev",
        "--pure",
        "--run",
        'DECLOS_RPATH="${LIBRARY_PATH%%:*}"; ' + build,
    )
    assert (r.returncode, r.stdout) == (0, "libjq from the store\n"), r.stderr
    assert not Path("/usr/include/jq.h").exists()  # the header came from the store


def test_unchanged_shell_is_cached_and_a_changed_file_reevaluates(
    project: Path, base_env: dict[str, str]
) -> None:
    (project / "shell.yaml").write_text("env: {A: one}\n")
    assert shell(project, base_env, "--run", "echo $A").stdout == "one\n"
    # A hit never opens the store (opening it would create its state directory again).
    state = Path(base_env["DECLOS_STATE_DIR"])
    state.rename(state.with_name("moved"))
    try:
        assert shell(project, base_env, "--run", "echo $A").stdout == "one\n"
        assert not state.exists()
    finally:
        state.with_name("moved").rename(state)
    (project / "shell.yaml").write_text("env: {A: two}\n")
    assert shell(project, base_env, "--run", "echo $A").stdout == "two\n"
    assert len(list((project / ".declos/shell").glob("*.json"))) == 2


def test_print_env_is_export_lines_for_direnv(project: Path, base_env: dict[str, str]) -> None:
    (project / "shell.yaml").write_text('env: {GREETING: "it\'s me"}\n')
    r = shell(project, base_env, "--print-env")
    profile = profile_of(project)
    assert r.returncode == 0
    assert "export GREETING='it'\"'\"'s me'\n" in r.stdout
    assert f"export PATH={profile}/bin\n" in r.stdout
    assert f"export PKG_CONFIG_SYSROOT_DIR={profile}\n" in r.stdout


def test_shell_is_a_gc_root(project: Path, base_env: dict[str, str]) -> None:
    (project / "shell.yaml").write_text("packages: [jq]\n")
    assert shell(project, base_env, "--run", "true").returncode == 0
    roots = Path(base_env["DECLOS_STATE_DIR"]) / "gcroots/auto"
    assert str(project / ".declos/gcroots/shell") in {os.readlink(p) for p in roots.iterdir()}


def test_bad_shell_file_is_an_error_with_file_and_line(
    project: Path, base_env: dict[str, str]
) -> None:
    (project / "shell.yaml").write_text("env: {}\npakages: [jq]\n")
    r = shell(project, base_env, "--run", "true")
    assert r.returncode == 1
    assert f"error: {project}/shell.yaml:2: unknown key 'pakages'" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (project / ".declos/gcroots").exists()


JQEXT_C = """\
#include <Python.h>
#include <jq.h>

static PyObject *compiles(PyObject *self, PyObject *arg) {
    const char *program = PyUnicode_AsUTF8(arg);
    if (program == NULL) return NULL;
    jq_state *jq = jq_init();
    int ok = jq_compile(jq, program);
    jq_teardown(&jq);
    return PyBool_FromLong(ok);
}

static PyMethodDef methods[] = {{"compiles", compiles, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "jqext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_jqext(void) { return PyModule_Create(&module); }
"""
JQEXT_SETUP = """\
from setuptools import Extension, setup

setup(name="jqext", version="0.1", ext_modules=[Extension("jqext", ["jqext.c"], libraries=["jq"])])
"""


def test_talk_demo_python_package_with_c_extension_built_in_the_shell(
    project: Path, base_env: dict[str, str]
) -> None:
    """The talk's demo: in a shell with a C library (libjq) and Python's headers from the
    store and setuptools from pylock.toml, a package with a C extension is built with
    setuptools and imported; the extension links the store's libjq (not on this host)."""
    (project / "shell.yaml").write_text(
        "packages: [libjq-dev, libpython3.11-dev]\npython: [setuptools]\n"
    )
    (project / "jqext.c").write_text(JQEXT_C)
    (project / "setup.py").write_text(JQEXT_SETUP)
    script = (
        'lib="${LIBRARY_PATH%%:*}"; profile="$(dirname "${PATH%%:*}")"; '
        'CFLAGS="-I$profile/include/python3.11" LDFLAGS="-Wl,-rpath,$lib" '
        "python setup.py -q build_ext --inplace >/dev/null 2>build.log && "
        'python -c \'import jqext; print(jqext.compiles(".a | length"), jqext.compiles("]["))\' '
        "&& ldd jqext*.so | grep -o '/[^ ]*libjq.so.1'"
    )
    r = shell(project, base_env, "--pure", "--run", script)
    assert r.returncode == 0, r.stderr + (project / "build.log").read_text()
    lines = r.stdout.splitlines()
    assert lines[0] == "True False"
    assert lines[1].startswith(base_env["DECLOS_STORE_DIR"] + "/"), lines
    assert not Path("/usr/include/jq.h").exists()  # the header came from the store
