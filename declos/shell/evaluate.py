"""`declos shell`: evaluate a shell file (or `-p` names) into a profile and its variables.

A shell is nix-shell's idea with declos' inputs: Debian packages from declos.lock and a
Python environment from pylock.toml, merged into ONE profile (a symlink join, the Python
environment first, so PROFILE/bin/python is that virtualenv), plus the variables the
same setup hooks as builds give (hooks.input_variables), the file's own variables and
its shell hook. The profile is registered as an indirect GC root
(`.declos/gcroots/shell` in the project: ONE per project, pointing at the shell entered
last, also on a cache hit), so a garbage collection keeps the shell until that link (or
the project) is removed.
Every file the evaluation opens (a shell.py's imports and data files included) is
recorded (reads.py) and returned, so the cache is keyed on all of them.

`shell.yaml` (or `shell.py` defining `shell(pkgs)` that returns the same keys):

    packages: [jq, libjpeg62-turbo-dev]   # Debian packages (names in declos.lock)
    python: [pyramid]                     # distributions in pylock.toml
    env: {DATABASE_URL: "postgresql:///dev"}
    shell_hook: echo "welcome"
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from declos.config.usercode import USER_FAILURES, user_code_error
from declos.pkgs.debian.archive import cache_dir
from declos.pkgs.package_set import Pkgs
from declos.pkgs.stdenv.hooks import input_variables
from declos.shell.cache import ShellEnv
from declos.shell.reads import keyed_files, recording
from declos.store.derivation import Derivation
from declos.store.errors import StoreError
from declos.store.gc import add_indirect_root
from declos.store.store import Store

KEYS = ("packages", "python", "env", "shell_hook")
PYTHON_ATTR = "python3.pkgs."


class ShellError(StoreError):
    """A shell file that cannot be evaluated; the message names the file and the key."""


@dataclass
class ShellSpec:
    packages: list[Any]
    python: list[Any]
    env: dict[str, str]
    shell_hook: str


def read_spec(path: Path | None, extra: Sequence[str], pkgs: Pkgs) -> ShellSpec:
    """The shell file's spec (none: an empty one), with `-p` names added."""
    raw: Any = {}
    if path is not None and path.suffix == ".py":
        raw = _call_shell_py(path, pkgs)
    elif path is not None:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ShellError(f"{path}: not valid YAML: {exc}") from None
    where = str(path) if path else "-p"
    if not isinstance(raw, dict):
        raise ShellError(f"{where}: a shell is a mapping with keys {', '.join(KEYS)}")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ShellError(
            f"{where}:{_line(path, unknown[0])}: unknown key {unknown[0]!r}; a shell has {', '.join(KEYS)}"
        )
    packages = list(raw.get("packages") or [])
    python = list(raw.get("python") or [])
    for name in extra:
        if name.startswith(PYTHON_ATTR):
            python.append(name[len(PYTHON_ATTR) :])
        else:
            packages.append(name)
    env = raw.get("env") or {}
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and k.isidentifier() and isinstance(v, str | int | Derivation)
        for k, v in env.items()
    ):
        raise ShellError(f"{where}:{_line(path, 'env')}: `env` maps variable names to strings")
    hook = raw.get("shell_hook") or ""
    if not isinstance(hook, str):
        raise ShellError(f"{where}:{_line(path, 'shell_hook')}: `shell_hook` is bash text")
    return ShellSpec(packages, python, {k: str(v) for k, v in env.items()}, hook)


def _line(path: Path | None, key: str) -> int:
    if path is None or not path.exists():
        return 1
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith(f"{key}:") or f'"{key}"' in line:
            return n
    return 1


class _NoBytecodeWrites(importlib.machinery.SourceFileLoader):
    """Reads a cached .pyc when one exists, never writes one: the project is the user's
    (modules shell.py imports itself are loaded as Python always does)."""

    def set_data(self, path: str, data: Any, *, _mode: int = 0o666) -> None:
        return None


def _call_shell_py(path: Path, pkgs: Pkgs) -> Any:
    loader = _NoBytecodeWrites("declos_shell_file", str(path))
    spec = importlib.util.spec_from_file_location("declos_shell_file", path, loader=loader)
    if spec is None or spec.loader is None:
        raise ShellError(f"{path}: cannot load")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        fn = getattr(module, "shell", None)
        if not callable(fn):
            raise ShellError(
                f"{path}: define `def shell(pkgs):` returning a mapping of {', '.join(KEYS)}"
            )
        return fn(pkgs)
    except StoreError:
        raise  # the package set's own errors say what is wrong already
    except SyntaxError as exc:
        if exc.filename != str(path):
            raise user_code_error(exc, str(path), "while loading the shell file") from None
        raise ShellError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except USER_FAILURES as exc:  # the user's code: reported at its line, no traceback
        raise user_code_error(exc, str(path), "while evaluating the shell file") from None


def _resolve(pkgs: Pkgs, item: Any, where: str) -> list[Derivation]:
    if isinstance(item, str):
        try:
            item = pkgs.debian[item]
        except StoreError as exc:
            raise ShellError(f"{where}: package {item!r}: {exc}") from None
    if not isinstance(item, Derivation):
        raise ShellError(f"{where}: {item!r} is not a package")
    members = getattr(item, "profile_packages", None)
    return list(members()) if callable(members) else [item]


def evaluate_in_store(
    project: str,
    path: str | None,
    extra: Sequence[str],
    *,
    lock: str,
    python_lock: str,
    files: Sequence[str],
) -> ShellEnv:
    """`evaluate` in the store of the environment (DECLOS_STORE_DIR, DECLOS_STATE_DIR);
    a Debian lock that does not exist is none (a Python-only or `env`-only shell)."""
    store = Store.open()
    try:
        return evaluate(
            store,
            Path(project),
            Path(path) if path else None,
            extra,
            lock=Path(lock) if os.path.exists(lock) else None,
            python_lock=Path(python_lock),
            files=files,
        )
    finally:
        store.close()


def evaluate(
    store: Store,
    project: Path,
    path: Path | None,
    extra: Sequence[str],
    *,
    lock: Path | None,
    python_lock: Path | None,
    files: Sequence[str],
) -> ShellEnv:
    """Build the shell's profile (GC-rooted) and return its variables and the files the
    evaluation read: `files` plus every file opened while the shell file ran and its
    packages were looked up (not the build's own reads of the store)."""
    pkgs = Pkgs(store, lock=lock, python_lock=python_lock)
    where = str(path) if path else "-p"
    inputs: list[Derivation] = []
    with recording() as reads:
        spec = read_spec(path, extra, pkgs)
        if spec.python:
            inputs.append(pkgs.python3.with_packages(spec.python, name="shell-python-env"))
        for item in spec.packages:
            for drv in _resolve(pkgs, item, where):
                if drv not in inputs:
                    inputs.append(drv)
    ignore = (store.store_dir, store.physical_store, store.physical_state, cache_dir())
    read = keyed_files([*files, *reads], [*(str(d) for d in ignore), str(project / ".declos")])
    profile = pkgs.symlink_join("declos-shell", inputs)
    [out] = store.realise([profile])
    keep_root(store, str(project), str(store.real_path(out)))
    variables = input_variables(out, python=bool(spec.python))
    variables.update(spec.env)
    return ShellEnv(variables, spec.shell_hook, str(store.real_path(out)), read)


def root_link(project: str) -> str:
    """The project's ONE GC root: the shell entered last."""
    return os.path.join(project, ".declos", "gcroots", "shell")


def keep_root(store: Store, project: str, profile: str) -> None:
    """Point the project's root at `profile` (atomically) and register it as an indirect
    GC root (`STATE/gcroots/auto/...`, one per link, so re-pointing adds nothing)."""
    link = root_link(project)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    tmp = link + ".tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(profile, tmp)
    os.replace(tmp, link)
    add_indirect_root(store, link)


def keep_root_in_store(project: str, profile: str) -> None:
    """keep_root in the store of the environment (a cache hit whose profile is not the
    one the project's root points at: the shell entered now is the one kept)."""
    store = Store.open()
    try:
        keep_root(store, project, profile)
    finally:
        store.close()
