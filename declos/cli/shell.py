"""`declos shell`: nix-shell's interface over declos' packages (declos.pkgs.stdenv.shell).

Entering an unchanged shell reads one cached JSON file and execs bash: the library that
evaluates and builds (Pkgs, the store) is imported only on a cache miss, because
importing it costs more than the whole cached path (goal: `--run true` within 100 ms).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from declos import __version__
from declos.pkgs.stdenv import shell_cache
from declos.pkgs.stdenv.shell_cache import ShellEnv

DEFAULT_FILES = ("shell.py", "shell.yaml")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "shell",
        help="enter a shell with packages and a Python environment (nix-shell)",
        description="Reads FILE (default ./shell.py, else ./shell.yaml) and/or -p PKG...: "
        "Debian packages from declos.lock, python3.pkgs.NAME from pylock.toml. One PATH "
        "entry for all inputs, the build variables (CPATH, LIBRARY_PATH, PKG_CONFIG_PATH, "
        "VIRTUAL_ENV); cached until a file the evaluation read changes.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="shell.py or shell.yaml")
    p.add_argument("-p", "--packages", nargs="+", default=[], metavar="PKG")
    p.add_argument("--pure", action="store_true", help="keep only nix-shell's variables")
    p.add_argument("--keep", action="append", default=[], metavar="NAME", help="with --pure")
    run = p.add_mutually_exclusive_group()
    run.add_argument("--run", metavar="CMD", help="run CMD in a non-interactive shell")
    run.add_argument("--command", metavar="CMD", help="run CMD in an interactive shell")
    run.add_argument(
        "--print-env", action="store_true", help="print `export` lines (for direnv: use declos)"
    )
    p.add_argument("--lock", metavar="PATH", default="declos.lock", help="Debian lock")
    p.add_argument("--python-lock", metavar="PATH", default="pylock.toml", help="Python lock")
    p.set_defaults(func=cmd_shell)


def _shell_file(args: argparse.Namespace) -> Path | None:
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise FileNotFoundError(2, "no such shell file", args.file)
        return path.resolve()
    if args.packages:
        return None
    for name in DEFAULT_FILES:
        if Path(name).is_file():
            return Path(name).resolve()
    raise FileNotFoundError(2, "no shell.py or shell.yaml here (or give -p PKG...)", os.getcwd())


def cmd_shell(args: argparse.Namespace) -> int:
    project = Path.cwd()
    path = _shell_file(args)
    lock = Path(args.lock).resolve()
    python_lock = Path(args.python_lock).resolve()
    files = [str(p) for p in (path, lock, python_lock) if p is not None]
    stores = [os.environ.get("DECLOS_STORE_DIR", ""), os.environ.get("DECLOS_STATE_DIR", "")]
    key_args = [str(path or ""), *args.packages, str(lock), str(python_lock), *stores]
    key = shell_cache.cache_key(__version__, key_args, files)
    shell = shell_cache.load(str(project), key)
    if shell is None:
        shell = _evaluate(args, project, path, lock, python_lock, files)
        shell_cache.save(str(project), key, shell)
    if args.print_env:
        for name, value in sorted(shell.variables.items()):
            sys.stdout.write(f"export {name}={shlex.quote(value)}\n")
        return 0
    env = shell_cache.environment(shell, os.environ, pure=args.pure, keep=args.keep)
    rc = _write_rc(project, key, shell, pure=args.pure)
    if args.run is not None:
        argv = ["bash", "--norc", "--noprofile", "-c", f"source {shlex.quote(rc)}\n{args.run}"]
    elif args.command is not None:
        argv = ["bash", "--rcfile", rc, "-i", "-c", args.command]
    else:
        argv = ["bash", "--rcfile", rc, "-i"]
    sys.stdout.flush()
    os.execvpe("bash", argv, env)


def _evaluate(
    args: argparse.Namespace,
    project: Path,
    path: Path | None,
    lock: Path,
    python_lock: Path,
    files: list[str],
) -> ShellEnv:
    # Imported here, on a cache miss only: see the module docstring.
    library = importlib.import_module("declos.pkgs.stdenv.shell")
    store_module = importlib.import_module("declos.store.store")
    store = store_module.Store.open()
    try:
        result: ShellEnv = library.evaluate(
            store,
            project,
            path,
            args.packages,
            lock=lock if lock.exists() else None,
            python_lock=python_lock,
            files=files,
        )
    finally:
        store.close()
    return result


def _write_rc(project: Path, key: str, shell: ShellEnv, *, pure: bool) -> str:
    """The bash rc file: (impure) the user's ~/.bashrc, the prompt, the shell hook."""
    rc = project / shell_cache.CACHE_DIR / f"{key}{'-pure' if pure else ''}.rc"
    if not rc.exists():
        profile_bin = shlex.quote(shell.variables["PATH"])
        lines = [
            "" if pure else '[ -f "$HOME/.bashrc" ] && source "$HOME/.bashrc"',
            # nix-shell's order: the inputs' entry first, then what ~/.bashrc made of PATH
            f"__declos_bin={profile_bin}",
            'PATH=":$PATH:"; PATH="${PATH//:"$__declos_bin":/:}"; PATH="${PATH#:}"',
            'PATH="$__declos_bin:${PATH%:}"; unset __declos_bin',
        ]
        lines += [r"PS1='\n\[\033[1;32m\][declos-shell:\w]\$\[\033[0m\] '", shell.shell_hook]
        tmp = rc.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, rc)
    return str(rc)
