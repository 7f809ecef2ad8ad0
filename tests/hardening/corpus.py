"""The hardening corpus: hostile inputs, each run through the real `declos` binary.

A case is a directory `cases/<area>-<slug>/` with its input files and a `case.yaml`
(format: README.md beside this file). `run_case` copies the case into a fresh sandbox,
runs the command with a timeout and returns an `Outcome`; `problems` lists every way the
outcome differs from what the case expects; `classify` sorts an outcome into the issue's
buckets (clear error with file:line / clear error without a location / worse).

The sandbox puts every directory the command may write (target, OS tree, TMPDIR, state,
store) four levels deep, so a `../../..` escape from any of them still lands inside the
sandbox, where the before/after snapshot sees it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_TIMEOUT = 60.0
KEYS = {
    "issue_item",
    "why",
    "argv",
    "exit",
    "stderr",
    "stdout",
    "stdout_pattern",
    "not_stderr",
    "timeout",
    "xfail",
    "setup",
    "env",
    "cwd_deleted",
    "allow_writes",
    "check",
}
# Directories a command may change by default; `allow_writes` in case.yaml replaces this set.
DEFAULT_WRITABLE = ("target", "ostree", "tmp", "state", "store")
# A location such as `p.yaml:3` or `/x/mod.py:12:` in an error message.
LOCATION = re.compile(r"[\w./-]+\.(?:ya?ml|py|json|nix|toml):\d+")
OSTREE_FILES = {
    "etc/passwd": (
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    ),
    "etc/group": "root:x:0:\ndaemon:x:1:\nusers:x:100:\nnogroup:x:65534:\n",
    "etc/shadow": "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    "etc/gshadow": "root:*::\ndaemon:*::\nusers:*::\nnogroup:*::\n",
    "etc/os-release": 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12"\n',
}


class CaseError(Exception):
    """A case.yaml that does not follow the format (a bug in the corpus, not in declos)."""


@dataclass(frozen=True)
class Case:
    name: str
    directory: Path
    spec: dict[str, Any]

    @property
    def xfail(self) -> str | None:
        value = self.spec.get("xfail")
        return str(value) if value else None

    @property
    def expected_exit(self) -> int:
        return int(self.spec.get("exit", 1))


@dataclass
class Sandbox:
    """The directories of one run; `places` maps placeholder names to paths."""

    root: Path
    places: dict[str, Path] = field(default_factory=dict)

    def fill(self, text: str, *, regex: bool = False) -> str:
        """`text` with every {place} replaced by its path (regex-escaped if `regex`)."""
        for name, path in self.places.items():
            text = text.replace("{" + name + "}", re.escape(str(path)) if regex else str(path))
        return text


@dataclass
class Outcome:
    case: Case
    sandbox: Sandbox
    returncode: int | None  # None: killed after the timeout
    stdout: str
    stderr: str
    changed: list[str]  # paths changed outside the writable places, relative to the sandbox
    failed_checks: list[str] = field(default_factory=list)


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """Every case under `directory`, sorted by name; malformed case.yaml raises CaseError."""
    cases = []
    for case_yaml in sorted(directory.glob("*/case.yaml")):
        spec = yaml.safe_load(case_yaml.read_text(encoding="utf-8"))
        name = case_yaml.parent.name
        if not isinstance(spec, dict):
            raise CaseError(f"{case_yaml}: not a mapping")
        unknown = set(spec) - KEYS
        if unknown:
            raise CaseError(f"{case_yaml}: unknown keys {sorted(unknown)} (known: {sorted(KEYS)})")
        for required in ("argv", "why", "issue_item"):
            if required not in spec:
                raise CaseError(f"{case_yaml}: `{required}` is missing")
        if not isinstance(spec["argv"], list) or not all(isinstance(a, str) for a in spec["argv"]):
            raise CaseError(f"{case_yaml}: argv must be a list of strings")
        cases.append(Case(name, case_yaml.parent, spec))
    return cases


def make_sandbox(base: Path, case: Case) -> Sandbox:
    """Lay out the sandbox under `base` and copy the case into it (the command's cwd)."""
    deep = ("w", "x", "y")
    sandbox = Sandbox(base)
    sandbox.places["sandbox"] = base
    for name in ("target", "ostree", "tmp", "home", "state", "store"):
        sandbox.places[name] = base.joinpath(*deep, name)
    # state and store are left absent: creating them is a write the snapshot must see.
    for name in ("target", "ostree", "tmp", "home"):
        sandbox.places[name].mkdir(parents=True)
    sandbox.places["state"].parent.mkdir(parents=True, exist_ok=True)
    for rel, text in OSTREE_FILES.items():
        path = sandbox.places["ostree"] / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (sandbox.places["ostree"] / "etc/shadow").chmod(0o640)
    for rel in ("root", "home", "tmp", "var", "usr/bin", "run"):
        (sandbox.places["ostree"] / rel).mkdir(parents=True, exist_ok=True)
    case_dir = base.joinpath(*deep, "case")
    shutil.copytree(
        case.directory, case_dir, symlinks=True, ignore=shutil.ignore_patterns("case.yaml")
    )
    sandbox.places["case"] = case_dir
    return sandbox


def snapshot(root: Path, skip: set[Path]) -> dict[str, tuple[Any, ...]]:
    """Metadata of everything under `root` except the `skip` subtrees (not followed)."""
    seen: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for name in [*dirnames, *filenames]:
            path = here / name
            if path in skip:
                continue
            st = path.lstat()
            link = os.readlink(path) if path.is_symlink() else None
            if stat.S_ISDIR(st.st_mode):
                # A directory's size and mtime change when an allowed place inside it is
                # created; its entries are recorded one by one instead.
                seen[str(path.relative_to(root))] = (st.st_mode, 0, 0, None)
            else:
                seen[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns, link)
    return seen


def declos_binary() -> str:
    """The `declos` console script of the running interpreter's venv (or, to measure another
    checkout, the program named by DECLOS_CORPUS_BINARY)."""
    override = os.environ.get("DECLOS_CORPUS_BINARY")
    if override:
        return override
    candidate = Path(sys.prefix) / "bin" / "declos"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("declos")
    if not found:
        raise CaseError("no `declos` executable next to the interpreter or on PATH")
    return found


def run_case(case: Case, base: Path) -> Outcome:
    """Run one case in a new sandbox under `base` (an empty directory)."""
    sandbox = make_sandbox(base, case)
    spec = case.spec
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TMPDIR": str(sandbox.places["tmp"]),
        "HOME": str(sandbox.places["home"]),
        "DECLOS_STATE_DIR": str(sandbox.places["state"]),
        "DECLOS_STORE_DIR": str(sandbox.places["store"]),
    }
    for key, value in (spec.get("env") or {}).items():
        env[str(key)] = sandbox.fill(str(value))
    for command in spec.get("setup") or []:
        subprocess.run(
            ["bash", "-euc", sandbox.fill(command)],
            cwd=sandbox.places["case"],
            env=env,
            check=True,
            timeout=60,
        )
    writable = {sandbox.places[p] for p in spec.get("allow_writes", DEFAULT_WRITABLE)}
    before = snapshot(base, writable)
    top_before = set(os.listdir("/"))
    argv = [declos_binary(), *(sandbox.fill(a) for a in spec["argv"])]
    cwd = sandbox.places["case"]
    if spec.get("cwd_deleted"):
        gone = base / "gone"
        gone.mkdir()
        argv = ["bash", "-c", 'cd "$1" && rmdir "$1" && shift && exec "$@"', "-", str(gone), *argv]
        before = snapshot(base, writable)
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    returncode: int | None
    try:
        out, err = proc.communicate(timeout=float(spec.get("timeout", DEFAULT_TIMEOUT)))
        returncode = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        returncode = None
    after = snapshot(base, writable)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if spec.get("cwd_deleted"):
        changed = [c for c in changed if c != "gone"]
    changed += [f"/{n}" for n in sorted(set(os.listdir("/")) - top_before)]
    failed = []
    for command in spec.get("check") or []:
        filled = sandbox.fill(command)
        done = subprocess.run(
            ["bash", "-euc", filled], cwd=cwd, env=env, capture_output=True, timeout=60
        )
        if done.returncode != 0:
            failed.append(f"{filled} -> exit {done.returncode}: {done.stdout[-300:]!r}")
    return Outcome(
        case,
        sandbox,
        returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
        changed,
        failed,
    )


def problems(outcome: Outcome) -> list[str]:
    """Every way `outcome` differs from its case's expectations (empty: it passed)."""
    spec, sandbox = outcome.case.spec, outcome.sandbox
    found = []
    if outcome.returncode is None:
        found.append(f"no exit within {spec.get('timeout', DEFAULT_TIMEOUT)} s (killed)")
    elif outcome.returncode != outcome.case.expected_exit:
        found.append(f"exit {outcome.returncode}, expected {outcome.case.expected_exit}")
    if "Traceback" in outcome.stderr or "Traceback" in outcome.stdout:
        found.append("a Python traceback reached the user")
    for fragment in spec.get("stderr") or []:
        if sandbox.fill(str(fragment)) not in outcome.stderr:
            found.append(f"stderr lacks {sandbox.fill(str(fragment))!r}")
    for fragment in spec.get("not_stderr") or []:
        if sandbox.fill(str(fragment)) in outcome.stderr:
            found.append(f"stderr contains {sandbox.fill(str(fragment))!r}")
    if "stdout_pattern" in spec:
        pattern = sandbox.fill(str(spec["stdout_pattern"]), regex=True)
        if not re.fullmatch(pattern, outcome.stdout, re.S):
            found.append(
                f"stdout {outcome.stdout[:300]!r} does not match {spec['stdout_pattern']!r}"
            )
    elif outcome.stdout != sandbox.fill(str(spec.get("stdout", ""))):
        found.append(f"stdout is {outcome.stdout[:300]!r}, expected {spec.get('stdout', '')!r}")
    if outcome.changed:
        found.append(f"changed outside the target: {outcome.changed[:10]}")
    found += [f"check failed: {c}" for c in outcome.failed_checks]
    return found


def classify(outcome: Outcome) -> str:
    """The issue's buckets: 'worse', 'location', 'no-location' (errors) or 'accepted' (exit 0)."""
    if (
        outcome.returncode is None
        or "Traceback" in outcome.stderr
        or outcome.changed
        or outcome.failed_checks
        or outcome.returncode != outcome.case.expected_exit
        or any(p.startswith("stdout") for p in problems(outcome))
    ):
        return "worse"
    if outcome.case.expected_exit == 0:
        return "accepted"
    if "error:" not in outcome.stderr:
        return "worse"
    return "location" if LOCATION.search(outcome.stderr) else "no-location"
