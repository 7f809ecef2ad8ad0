"""`declos build|switch|boot|test|dry-activate|rollback|generations`: parse, call, print.

Building happens in-process (declos.system.build); activation runs the activator shipped
inside the built closure (declos.system.local_host), as on a remote host after a copy.

`declos build` leaves a `./result` symlink to TOP registered as an indirect GC root (as
`nix-build` and `nixos-rebuild build` do), so `declos store gc` keeps what was just built
until the link is removed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from declos.cli.main import UsageError
from declos.cli.special_args import add_special_args
from declos.common.ostree import NotAnOsTree, check_os_tree
from declos.config import EvaluationError
from declos.config.specialargs import parse_special_args
from declos.store import Store
from declos.store.errors import StoreError
from declos.system.build import SystemBuildError, build_system
from declos.system.local_host import NoGeneration, current_system, make_out_link, run_activator

DEFAULT_CONFIG = "/etc/declos/configuration.yaml"
ACTIONS = ("switch", "boot", "test", "dry-activate")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    build = sub.add_parser(
        "build", help="build the system closure of a configuration and print its path"
    )
    _config_args(build)
    links = build.add_mutually_exclusive_group()
    links.add_argument(
        "-o",
        "--out-link",
        metavar="PATH",
        default="result",
        help="name of the symlink to the result, a GC root (default: ./result)",
    )
    links.add_argument(
        "--no-out-link",
        action="store_true",
        help="create no result symlink (the closure is then not protected from gc)",
    )
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
    rollback = sub.add_parser(
        "rollback",
        help="re-activate the previous generation (with -d: generation N on a deployment's machines)",
    )
    rollback.add_argument("--root", metavar="DIR", help="act on the tree under DIR (files only)")
    rollback.add_argument(
        "-d", "--deployment", metavar="NAME", help="a deployment's machines (declos deploy)"
    )
    rollback.add_argument("generation", nargs="?", type=int, help="with -d: the generation N")
    rollback.set_defaults(func=cmd_rollback)
    gens = sub.add_parser("generations", help="list (or delete) system generations")
    gens.add_argument("--root", metavar="DIR", help="the tree under DIR")
    group = gens.add_mutually_exclusive_group()
    group.add_argument(
        "--delete", metavar="N", nargs="+", type=int, help="delete these generations"
    )
    group.add_argument(
        "--older-than", metavar="AGE", help="delete generations older than AGE (e.g. 30d)"
    )
    gens.set_defaults(func=cmd_generations)


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        action="append",
        help=f"configuration module (repeatable; default {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="use the store/state under DIR and activate into DIR (files only)",
    )
    parser.add_argument(
        "--bare",
        action="store_true",
        help="evaluate without the standard module library (modules/)",
    )
    add_special_args(parser)


def _build(args: argparse.Namespace) -> tuple[Store, str] | None:
    """Build and print warnings/errors; returns (store, TOP) or None after printing an error."""
    files = args.config or [DEFAULT_CONFIG]
    for path in files:
        if not os.path.exists(path):
            raise UsageError(f"configuration file {path} does not exist (give one with -c FILE)")
    root = os.path.abspath(args.root) if args.root else None
    try:
        # stdout is the result only: what modules print() while evaluating goes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            store = Store.open(root=root)
            special = parse_special_args(args.arg, args.argstr)
            result = build_system(
                files,
                store=store,
                root=root,
                bare=args.bare,
                special_args=special,
                progress=lambda line: print(line, file=sys.stderr, flush=True),
            )
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


def cmd_activate(args: argparse.Namespace) -> int:
    if args.root:
        # refused before the build creates a store under it (issue 8 item 10)
        try:
            check_os_tree(os.path.abspath(args.root), args.root)
        except NotAnOsTree as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    built = _build(args)
    if built is None:
        return 1
    return _run(built[1], args.action, args.root)


def _run(top: str, action: str, root: str | None, extra: list[str] | None = None) -> int:
    try:
        return run_activator(top, action, root=root, extra=extra or ())
    except OSError as exc:
        print(f"error: cannot run the activator of {top}: {exc}", file=sys.stderr)
        return 2


def _current_top(root: str | None) -> str:
    try:
        return current_system(root)
    except NoGeneration as exc:
        raise UsageError(str(exc)) from None


def cmd_rollback(args: argparse.Namespace) -> int:
    if args.deployment is not None or args.generation is not None:
        from declos.cli.deploy import cmd_rollback as fleet_rollback

        return fleet_rollback(args)
    return _run(_current_top(args.root), "rollback", args.root)


def cmd_generations(args: argparse.Namespace) -> int:
    top = _current_top(args.root)
    extra: list[str] = []
    if args.delete:
        extra = ["--delete", *(str(n) for n in args.delete)]
    elif args.older_than:
        extra = ["--older-than", args.older_than]
    return _run(top, "generations", args.root, extra)
