"""Property test (issue 8): random module trees never crash declos or write outside the target.

Hypothesis generates a root module importing a few more (YAML and Python), defining
options with random names and values drawn from a hostile alphabet (path separators,
`..`, `:`, newlines, quotes, `$(...)`, unicode, long names). For each tree,
`declos build --root TARGET --no-out-link` either succeeds (stdout: one store path) or
fails with exactly one `error:` line and exit 1; never a traceback or an internal
error; and nothing outside the target, TMPDIR, state and store directories changes.

The examples run in-process through `declos.cli.main.main` (fast); a handful run
through the real `declos` binary as a smoke test. DECLOS_HYPOTHESIS_EXAMPLES sets the
number of in-process examples (default 200).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hardening.corpus import snapshot
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from declos.cli.main import main

EXAMPLES = int(os.environ.get("DECLOS_HYPOTHESIS_EXAMPLES", "200"))
NASTY = [
    "",
    ".",
    "..",
    "../../../../victim",
    "../victim",
    "a/../../../../../victim",
    "../../../../../../../../../../../../victim",
    "/etc/passwd",
    "a/b",
    "a:b",
    "a\nb",
    "root",
    ".declos-static",
    "systemd/system/x.service",
    "x; touch pwned",
    "$(touch pwned)",
    "`id`",
    "'\"",
    "ünïcödé 日本",
    "-rf",
    "a" * 40,
    "a" * 300,
    "1x",
    "nobody",
    "multi-user.target",
    "Europe/Berlin",
    " ",
    "\t",
    "a=b",
    "\\",
    "%h",
]
ALPHABET = st.sampled_from(list("abcxyz019_-.:/ \n\t'\"$`;\\=%@üé日*?[]{}#!"))
# Nasty values twice as often as random text: they are where the bugs were.
TEXT = st.one_of(st.sampled_from(NASTY), st.sampled_from(NASTY), st.text(ALPHABET, max_size=24))
NAME = TEXT
SCALAR: st.SearchStrategy[Any] = st.one_of(
    TEXT,
    st.integers(min_value=-(2**40), max_value=2**40),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


def _attrs(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


DEFINITIONS: list[tuple[str, st.SearchStrategy[Any]]] = [
    ("networking.hostName", TEXT),
    ("networking.firewall.allowedTCPPorts", st.lists(st.integers(-5, 70000) | VALUE, max_size=3)),
    (
        "users.users",
        st.dictionaries(
            NAME,
            _attrs(
                {
                    "isNormalUser": st.booleans(),
                    "description": TEXT,
                    "home": TEXT,
                    "uid": st.integers(-1, 2**33),
                    "extraGroups": st.lists(TEXT, max_size=2),
                    "hashedPassword": TEXT,
                    "hashedPasswordFile": TEXT,
                    "shell": TEXT,
                    "name": TEXT,
                    "group": TEXT,
                }
            ),
            max_size=2,
        ),
    ),
    (
        "users.groups",
        st.dictionaries(
            NAME,
            _attrs(
                {
                    "gid": st.integers(-1, 2**33),
                    "members": st.lists(TEXT, max_size=2),
                    "name": TEXT,
                }
            ),
            max_size=2,
        ),
    ),
    (
        "environment.etc",
        st.dictionaries(NAME, _attrs({"text": TEXT, "mode": TEXT, "target": TEXT}), max_size=2),
    ),
    ("environment.variables", st.dictionaries(NAME, TEXT | st.lists(TEXT, max_size=2), max_size=2)),
    (
        "systemd.services",
        st.dictionaries(
            NAME,
            _attrs(
                {
                    "script": TEXT,
                    "description": TEXT,
                    "wantedBy": st.lists(TEXT, max_size=2),
                    "environment": st.dictionaries(NAME, TEXT, max_size=2),
                    "serviceConfig": st.dictionaries(NAME, TEXT, max_size=2),
                    "unitConfig": st.dictionaries(
                        NAME, TEXT | st.lists(TEXT, max_size=2), max_size=2
                    ),
                    "startAt": TEXT | st.lists(TEXT, max_size=2),
                }
            ),
            max_size=2,
        ),
    ),
    ("system.activationScripts", st.dictionaries(NAME, TEXT, max_size=2)),
    (
        "networking.firewall",
        _attrs(
            {
                "interfaces": st.dictionaries(
                    NAME,
                    _attrs({"allowedTCPPorts": st.lists(st.integers(0, 65535), max_size=2)}),
                    max_size=2,
                ),
                "trustedInterfaces": st.lists(TEXT, max_size=2),
            }
        ),
    ),
    ("boot.loader.grub.device", TEXT),
    ("time.timeZone", TEXT | st.none()),
    (
        "services.httpd",
        _attrs(
            {
                "enable": st.booleans(),
                "user": TEXT,
                "listenPort": st.integers(-1, 70000),
                "adminAddr": TEXT,
                "logDir": TEXT,
                "documentRoot": TEXT,
            }
        ),
    ),
    (
        "fileSystems",
        st.dictionaries(
            NAME, _attrs({"device": TEXT, "fsType": TEXT, "mountPoint": TEXT}), max_size=1
        ),
    ),
    ("deployment.keys", st.dictionaries(NAME, _attrs({"text": TEXT}), max_size=1)),
    ("unknownOption", VALUE),
]


@st.composite
def module_tree(draw: st.DrawFn) -> dict[str, str]:
    """File name -> content: `root.yaml` plus up to three imported modules."""
    files: dict[str, str] = {}
    imports = []
    for n in range(draw(st.integers(0, 3))):
        name = f"m{n}.py" if draw(st.booleans()) else f"m{n}.yaml"
        imports.append(name)
        files[name] = _render(name, draw(_definitions()))
    root = draw(_definitions())
    if imports:
        root["imports"] = imports
    files["root.yaml"] = _render("root.yaml", root)
    if draw(st.integers(0, 9)) == 0:
        files["root.yaml"] = draw(st.text(ALPHABET, max_size=80))  # not even YAML
    return files


def _definitions() -> st.SearchStrategy[dict[str, Any]]:
    chosen = st.lists(st.sampled_from(range(len(DEFINITIONS))), max_size=2, unique=True)
    return chosen.flatmap(
        lambda idx: st.fixed_dictionaries({DEFINITIONS[i][0]: DEFINITIONS[i][1] for i in idx})
    )


def _render(name: str, definitions: dict[str, Any]) -> str:
    if name.endswith(".py"):
        imports = definitions.pop("imports", [])
        return f"imports = {imports!r}\nconfig = {definitions!r}\n"
    return yaml.safe_dump(definitions, allow_unicode=True)


@contextlib.contextmanager
def sandbox_env(base: Path) -> Iterator[dict[str, Path]]:
    """TMPDIR/HOME/DECLOS_* inside `base`; the previous environment restored after."""
    places = {
        n: base / "w" / "x" / "y" / n for n in ("case", "target", "tmp", "home", "state", "store")
    }
    for n in ("case", "target", "tmp", "home"):
        places[n].mkdir(parents=True)
    names = {
        "tmp": "TMPDIR",
        "home": "HOME",
        "state": "DECLOS_STATE_DIR",
        "store": "DECLOS_STORE_DIR",
    }
    saved = {var: os.environ.get(var) for var in names.values()}
    os.environ.update({var: str(places[p]) for p, var in names.items()})
    tempfile.tempdir = None  # tempfile caches TMPDIR
    try:
        yield places
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        tempfile.tempdir = None


def check_outcome(rc: int, out: str, err: str, store: Path) -> None:
    assert "Traceback" not in err + out, err
    assert "internal error" not in err, err
    if rc == 0:
        assert re.fullmatch(
            re.escape(str(store)) + r"/[0-9a-z]{32}-declos-system(-[^/\n]+)?\n", out
        ), out
        assert "error:" not in err, err
    else:
        assert rc == 1, (rc, err)
        assert out == "", out
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, err


def run_tree(files: dict[str, str], runner: str) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="declos-prop-") as tmp,
        sandbox_env(Path(tmp)) as places,
    ):
        base = Path(tmp)
        for name, text in files.items():
            (places["case"] / name).write_text(text, encoding="utf-8")
        writable = {places[n] for n in ("target", "tmp", "state", "store")}
        before = snapshot(base, writable)
        argv = [
            "build",
            "-c",
            str(places["case"] / "root.yaml"),
            "--root",
            str(places["target"]),
            "--no-out-link",
        ]
        if runner == "in-process":
            out, err = io.StringIO(), io.StringIO()
            cwd = os.getcwd()
            os.chdir(places["case"])
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    rc = main(argv)
            finally:
                os.chdir(cwd)
            result = (rc, out.getvalue(), err.getvalue())
        else:
            done = subprocess.run(
                [str(Path(sys.prefix) / "bin" / "declos"), *argv],
                cwd=places["case"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            result = (done.returncode, done.stdout, done.stderr)
        after = snapshot(base, writable)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        assert not changed, f"written outside the target: {changed}"
        if runner == "in-process":
            event("built" if result[0] == 0 else f"exit {result[0]}")
        check_outcome(*result, places["store"])


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    # It failed twice under load (sessions 4 and 5) and the example was lost each time:
    # a failure prints `@reproduce_failure(...)` so the log alone can replay it.
    print_blob=True,
)
@given(module_tree())
def test_random_module_trees_in_process(files: dict[str, str]) -> None:
    run_tree(files, "in-process")


@pytest.mark.timeout(600)
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(module_tree())
def test_random_module_trees_through_the_binary(files: dict[str, str]) -> None:
    run_tree(files, "binary")


def test_the_property_sees_an_escape() -> None:
    """The write check of run_tree catches a write outside the target (a property that
    cannot fail would pass every example). A Python module is code and may write where it
    likes, so one that writes next to the sandbox's case directory is the demonstration."""
    files = {
        "root.yaml": "imports: [./evil.py]\n",
        "evil.py": (
            "from pathlib import Path\n"
            "Path(__file__).resolve().parent.parent.joinpath('victim').write_text('x')\n"
            "config = {}\n"
        ),
    }
    with pytest.raises(AssertionError, match="written outside the target"):
        run_tree(files, "binary")
