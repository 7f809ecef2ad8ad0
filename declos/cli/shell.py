"""`declos shell` and `declos hook direnv`: nix-shell's interface over declos' packages
(declos.shell; docs/shell.md).

Entering an unchanged shell reads two small cached files and execs bash: the library that
evaluates and builds (Pkgs, the store) is imported only on a cache miss, because
importing it costs more than the whole cached path (goal: `--run true` within 100 ms).
For the same reason this module avoids pathlib and everything else a hit does not need.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
import types

from declos import __version__
from declos.shell import cache
from declos.shell.cache import ShellEnv

DEFAULT_FILES = ("shell.py", "shell.yaml")
LOCKS = ("declos.lock", "pylock.toml", "uv.lock")
DIRENVRC = """\
# `use declos [ARGS...]` in an .envrc: the environment of `declos shell ARGS` (cached), every
# file its evaluation read watched, its profile kept as a GC root (.declos/gcroots/shell).
use_declos() {{
  watch_file shell.py shell.yaml declos.lock pylock.toml
  local out
  if ! out="$({declos} shell --direnv "$@")"; then
    log_error "declos shell failed: the environment is not loaded"
    return 1
  fi
  eval "$out"
}}
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `shell` and `hook` (typing is not imported: a cache hit does not need it)."""
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
    run.add_argument("--print-env", action="store_true", help="print `export` lines")
    run.add_argument(
        "--direnv",
        action="store_true",
        help="print what `use declos` evaluates in direnv (see `declos hook direnv`)",
    )
    p.add_argument("--lock", metavar="PATH", default=LOCKS[0], help="Debian lock")
    p.add_argument(
        "--python-lock",
        metavar="PATH",
        help="Python lock: pylock.toml or a uv.lock (default: ./pylock.toml, else ./uv.lock)",
    )
    p.set_defaults(func=cmd_shell)
    h = subparsers.add_parser(
        "hook",
        help="print the shell function of an integration (direnv: `use declos`)",
        description="`declos hook direnv` prints `use_declos` for direnv: put "
        '`eval "$(declos hook direnv)"` in ~/.config/direnv/direnvrc, then `use declos` '
        "in a project's .envrc.",
    )
    h.add_argument("tool", choices=["direnv"])
    h.set_defaults(func=cmd_hook)


def _shell_file(args: argparse.Namespace) -> str | None:
    if args.file:
        if not os.path.isfile(args.file):
            raise FileNotFoundError(2, "no such shell file", args.file)
        return os.path.abspath(args.file)
    if args.packages:
        return None
    for name in DEFAULT_FILES:
        if os.path.isfile(name):
            return os.path.abspath(name)
    raise FileNotFoundError(2, "no shell.py or shell.yaml here (or give -p PKG...)", os.getcwd())


def _default_python_lock() -> str:
    """pylock.toml, or a uv project's uv.lock when there is no pylock.toml."""
    if not os.path.exists(LOCKS[1]) and os.path.exists(LOCKS[2]):
        return LOCKS[2]
    return LOCKS[1]


def cmd_shell(args: argparse.Namespace) -> int:
    project = os.getcwd()
    path = _shell_file(args)
    lock = os.path.abspath(args.lock)
    python_lock = os.path.abspath(args.python_lock or _default_python_lock())
    stores = [os.environ.get("DECLOS_STORE_DIR", ""), os.environ.get("DECLOS_STATE_DIR", "")]
    key_args = [path or "", *args.packages, lock, python_lock, *stores]
    args_key = cache.args_key(__version__, key_args)
    key, shell = cache.lookup(project, args_key)
    if shell is None:
        files = [p for p in (path, lock, python_lock) if p is not None]
        shell = _evaluate(args, project, path, lock, python_lock, files)
        key = cache.save(project, args_key, shell)
    elif shell.profile and _root_target(project) != shell.profile:
        # another shell of this project was entered since: this one is the root now
        _library().keep_root_in_store(project, shell.profile)
    if args.print_env:
        sys.stdout.write(print_env(shell))
        return 0
    if args.direnv:
        sys.stdout.write(direnv_env(shell))
        return 0
    env = cache.environment(shell, os.environ, pure=args.pure, keep=args.keep)
    rc = _write_rc(project, key, shell, pure=args.pure)
    if args.run is not None:
        argv = ["bash", "--norc", "--noprofile", "-c", f"source {shlex.quote(rc)}\n{args.run}"]
    elif args.command is not None:
        argv = ["bash", "--rcfile", rc, "-i", "-c", args.command]
    else:
        argv = ["bash", "--rcfile", rc, "-i"]
    sys.stdout.flush()
    os.execvpe("bash", argv, env)


def _root_target(project: str) -> str:
    try:
        return os.readlink(os.path.join(project, ".declos", "gcroots", "shell"))
    except OSError:
        return ""


def cmd_hook(args: argparse.Namespace) -> int:
    """Print the direnv library function, calling this very declos."""
    me = os.path.abspath(sys.argv[0])
    declos = (
        shlex.quote(me)
        if os.path.basename(me) == "declos"
        else f"{shlex.quote(sys.executable)} -m declos"
    )
    sys.stdout.write(DIRENVRC.format(declos=declos))
    return 0


def print_env(shell: ShellEnv) -> str:
    """`export NAME=VALUE` lines of the shell's variables, sorted, values quoted."""
    return "".join(
        f"export {name}={shlex.quote(value)}\n" for name, value in sorted(shell.variables.items())
    )


def direnv_env(shell: ShellEnv) -> str:
    """What `use declos` evaluates in direnv's bash: watch every file the evaluation read,
    export the variables (PATH: the profile's bin put in front, direnv's `PATH_add`),
    then the shell hook, as nix-direnv runs a shellHook."""
    lines = [f"watch_file {shlex.quote(f.rstrip(os.sep) or f)}" for f in shell.files]
    for name, value in sorted(shell.variables.items()):
        if name == "PATH":
            lines += [f"PATH_add {shlex.quote(p)}" for p in reversed(value.split(":")) if p]
        else:
            lines.append(f"export {name}={shlex.quote(value)}")
    lines.append("export IN_DECLOS_SHELL=impure")
    if shell.shell_hook:
        lines.append(shell.shell_hook)
    return "\n".join(lines) + "\n"


def _evaluate(
    args: argparse.Namespace,
    project: str,
    path: str | None,
    lock: str,
    python_lock: str,
    files: list[str],
) -> ShellEnv:
    result: ShellEnv = _library().evaluate_in_store(
        project, path, args.packages, lock=lock, python_lock=python_lock, files=files
    )
    return result


def _library() -> types.ModuleType:
    """declos.shell.evaluate, imported on a cache miss (or a root to re-point) only: see
    the module docstring."""
    return importlib.import_module("declos.shell.evaluate")


def _write_rc(project: str, key: str, shell: ShellEnv, *, pure: bool) -> str:
    """The bash rc file: (impure, interactive) the user's ~/.bashrc, as nix-shell does,
    the prompt, the shell hook."""
    rc = os.path.join(project, cache.CACHE_DIR, f"{key}{'-pure' if pure else ''}.rc")
    if not os.path.exists(rc):
        profile_bin = shlex.quote(shell.variables["PATH"])
        lines = [
            # nix-shell's rc: only an interactive shell (PS1 set) reads ~/.bashrc.
            "" if pure else '[ -n "$PS1" ] && [ -e "$HOME/.bashrc" ] && source "$HOME/.bashrc"',
            # nix-shell's order: the inputs' entry first, then what ~/.bashrc made of PATH
            f"__declos_bin={profile_bin}",
            'PATH=":$PATH:"; PATH="${PATH//:"$__declos_bin":/:}"; PATH="${PATH#:}"',
            'PATH="$__declos_bin:${PATH%:}"; unset __declos_bin',
        ]
        lines += [r"PS1='\n\[\033[1;32m\][declos-shell:\w]\$\[\033[0m\] '", shell.shell_hook]
        tmp = f"{rc}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, rc)
    return rc
