"""`declos build|switch|boot|test|dry-activate|rollback|generations`: parse, call, print.

Building happens in-process (declos.system); activation always runs the activator
shipped inside the built closure (TOP/activate), exactly as on a remote host after a
copy, so what is tested here is what deploy runs. With --root the store, the state and
the activated tree all live under DIR and nothing of the running host is touched.

`declos build` leaves a `./result` symlink to TOP registered as an indirect GC root (as
`nix-build` and `nixos-rebuild build` do), so `declos store gc` keeps what was just built
until the link is removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from typing import Any

DEFAULT_CONFIG = "/etc/declos/configuration.yaml"
ACTIONS = ("switch", "boot", "test", "dry-activate")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    build = sub.add_parser("build", help="build the system closure of a configuration and print its path")
    _config_args(build)
    links = build.add_mutually_exclusive_group()
    links.add_argument("-o", "--out-link", metavar="PATH", default="result",
                       help="name of the symlink to the result, a GC root (default: ./result)")
    links.add_argument("--no-out-link", action="store_true",
                       help="create no result symlink (the closure is then not protected from gc)")
    build.set_defaults(func=cmd_build)
    helps = {
        "switch": "build, make it the boot default and activate it now",
        "boot": "build and make it the boot default (activate at next boot)",
        "test": "build and activate it now, without a new generation or boot entry",
        "dry-activate": "build and print what activating it would change; change nothing",
    }
    for action in ACTIONS:
        parser = sub.add_parser(action, help=helps[action])
        _config_args(parser)
        parser.set_defaults(func=cmd_activate, action=action)
    rollback = sub.add_parser("rollback", help="re-activate the previous generation")
    rollback.add_argument("--root", metavar="DIR", help="act on the tree under DIR (files only)")
    rollback.set_defaults(func=cmd_rollback)
    gens = sub.add_parser("generations", help="list (or delete) system generations")
    gens.add_argument("--root", metavar="DIR", help="the tree under DIR")
    group = gens.add_mutually_exclusive_group()
    group.add_argument("--delete", metavar="N", nargs="+", type=int, help="delete these generations")
    group.add_argument("--older-than", metavar="AGE", help="delete generations older than AGE (e.g. 30d)")
    gens.set_defaults(func=cmd_generations)


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="FILE", action="append",
                        help=f"configuration module (repeatable; default {DEFAULT_CONFIG})")
    parser.add_argument("--root", metavar="DIR",
                        help="use the store/state under DIR and activate into DIR (files only)")
    parser.add_argument("--bare", action="store_true",
                        help="evaluate without the standard module library (modules/)")


def _build(args: argparse.Namespace) -> tuple[Any, str] | None:
    """Build and print warnings/errors; returns (store, TOP) or None after printing an error."""
    from declos.cli.main import UsageError
    from declos.config import EvaluationError
    from declos.store import Store
    from declos.store.errors import StoreError
    from declos.system.build import SystemBuildError, build_system

    files = args.config or [DEFAULT_CONFIG]
    for path in files:
        if not os.path.exists(path):
            raise UsageError(f"configuration file {path} does not exist (give one with -c FILE)")
    root = os.path.abspath(args.root) if args.root else None
    try:
        store = Store.open(root=root)
        result = build_system(files, store=store, root=root, bare=args.bare)
    except (EvaluationError, SystemBuildError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return store, result.path


def cmd_build(args: argparse.Namespace) -> int:
    built = _build(args)
    if built is None:
        return 1
    store, path = built
    if not args.no_out_link:
        try:
            make_out_link(store, path, args.out_link)
        except OSError as exc:
            print(f"error: cannot create the out link {args.out_link}: {exc}", file=sys.stderr)
            return 1
    print(path)
    return 0


def make_out_link(store: Any, top: str, link: str) -> str:
    """Point `link` at TOP (its logical store path) and register it as an indirect GC root.

    The link is made before the root is registered: gc deletes an indirect root whose
    link is missing. Until then the build's temporary root keeps TOP alive. An existing
    symlink is replaced atomically; anything else at `link` is left alone (an error)."""
    from declos.store.gc import add_indirect_root
    from declos.store.profiles import atomic_symlink

    if os.path.lexists(link) and not os.path.islink(link):
        raise FileExistsError(f"{link} exists and is not a symbolic link; remove it or use -o PATH")
    atomic_symlink(top, os.path.abspath(link))
    return add_indirect_root(store, link)


def cmd_activate(args: argparse.Namespace) -> int:
    built = _build(args)
    if built is None:
        return 1
    return run_activator(built[1], args.action, root=args.root)


def host_python() -> str:
    """The host's python3 (what TOP/activate's `/usr/bin/env python3` finds outside a venv)."""
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else (shutil.which("python3") or "python3")


def activator_command(top: str, action: str, root: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The command that runs TOP's own activator; under --root it is reached physically.

    TOP/activator is an absolute (logical) link, valid on the target but not under a root
    prefix, so with --root the activator's lib is located through the link by hand."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if root is None:
        return [f"{top}/activate", action], env
    root = os.path.abspath(root)
    activator = os.readlink(f"{root}{top}/activator")
    env["PYTHONPATH"] = f"{root}{activator}/lib"
    cmd = [host_python(), "-P", "-m", "declos.activation", "--system", top, "--root", root, action]
    return cmd, env


def run_activator(top: str, action: str, root: str | None = None) -> int:
    cmd, env = activator_command(top, action, root)
    try:
        return subprocess.run(cmd, env=env).returncode
    except OSError as exc:
        print(f"error: cannot run the activator {cmd[0]}: {exc}", file=sys.stderr)
        return 2


def _current_top(root: str | None) -> str:
    """The newest generation's TOP (profile link), for actions without a config."""
    from declos.cli.main import UsageError
    from declos.store import location

    state = location.state_dir()
    link = f"{os.path.abspath(root) if root else ''}{state}/profiles/system"
    try:
        target = os.readlink(link)
        if not target.startswith("/"):
            target = os.readlink(os.path.join(os.path.dirname(link), target))
    except OSError:
        raise UsageError(f"no system generation yet ({state}/profiles/system does not exist); "
                         "run `declos switch` first") from None
    return target


def cmd_rollback(args: argparse.Namespace) -> int:
    return run_activator(_current_top(args.root), "rollback", root=args.root)


def cmd_generations(args: argparse.Namespace) -> int:
    top = _current_top(args.root)
    extra: list[str] = []
    if args.delete:
        extra = ["--delete", *(str(n) for n in args.delete)]
    elif args.older_than:
        extra = ["--older-than", args.older_than]
    cmd, env = activator_command(top, "generations", args.root)
    try:
        return subprocess.run(cmd + extra, env=env).returncode
    except OSError as exc:
        print(f"error: cannot run the activator {cmd[0]}: {exc}", file=sys.stderr)
        return 2
