"""`declos env`: per-user profiles with nix-env's verbs, installed by attribute."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from typing import Any

from declos.common.profiles import ProfileError
from declos.config import EvaluationError, evaluate
from declos.pkgs import Pkgs
from declos.pkgs.debian.lockfile import LOCK_NAME, lock_path_for
from declos.pkgs.user_env import UserEnvironment
from declos.store import Store
from declos.store.errors import StoreError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "env",
        help="manage your user profile (nix-env's verbs)",
        description="Install packages into your profile by attribute (-i jq, -i deb.git), "
        "remove (-e), upgrade (-u) after `declos lock --update`, query (-q), and move "
        "between generations. Packages come from declos.lock (--lock; default: beside the "
        "first -c file, else ./declos.lock); with -c, the configuration's pkgs.overlays "
        "and pkgs.hermetic apply as in `declos build`.",
    )
    verbs = p.add_mutually_exclusive_group(required=True)
    verbs.add_argument("-i", "--install", action="store_true", help="install ATTR...")
    verbs.add_argument("-e", "--uninstall", action="store_true", help="remove ATTR...")
    verbs.add_argument("-u", "--upgrade", action="store_true", help="upgrade ATTR... (all)")
    verbs.add_argument("-q", "--query", action="store_true", help="list installed packages")
    verbs.add_argument("--rollback", action="store_true", help="back to the previous generation")
    verbs.add_argument("--list-generations", action="store_true", help="list generations")
    verbs.add_argument("--switch-generation", type=int, metavar="N", help="switch to generation N")
    verbs.add_argument(
        "--delete-generations", nargs="+", metavar="GEN", help="N..., old, +N (keep last N), Nd"
    )
    p.add_argument("--priority", type=int, default=5, help="with -i: lower wins collisions")
    p.add_argument(
        "-c",
        "--config",
        action="append",
        metavar="FILE",
        help="configuration whose pkgs.overlays / pkgs.hermetic apply (repeatable)",
    )
    p.add_argument("--lock", metavar="PATH", help="the lock file")
    p.add_argument("--user", default=None, help="whose profile (default: you)")
    p.add_argument("--root", metavar="DIR", help="a store under DIR (images, tests)")
    p.add_argument("attrs", nargs="*", metavar="ATTR")
    p.set_defaults(func=cmd_env)


def cmd_env(args: argparse.Namespace) -> int:

    user = args.user or os.environ.get("USER") or getpass.getuser()
    if (args.install or args.uninstall) and not args.attrs:
        print("error: name at least one attribute (declos env -i jq)", file=sys.stderr)
        return 1
    try:
        store = Store.open(root=os.path.abspath(args.root) if args.root else None)
        env = UserEnvironment(store, user)
        pkgs = _package_set(store, args.config or [], args.lock)
        if args.install:
            n = env.install(pkgs, args.attrs, args.priority)
            print(f"installed {', '.join(args.attrs)}; generation {n}", file=sys.stderr)
        elif args.uninstall:
            n = env.erase(args.attrs)
            print(f"removed {', '.join(args.attrs)}; generation {n}", file=sys.stderr)
        elif args.upgrade:
            m, changed = env.upgrade(pkgs, args.attrs)
            for line in changed:
                print(f"upgrading {line}", file=sys.stderr)
            if m is None:
                print("nothing to upgrade", file=sys.stderr)
        elif args.query:
            for e in env.elements():
                print(f"{e.attr}\t{e.name}")
        elif args.rollback:
            n = env.rollback()
            print(f"switched to generation {n}", file=sys.stderr)
        elif args.list_generations:
            for g in env.generations():
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(g.created))
                print(f"{g.number:5d}   {when}{'   (current)' if g.current else ''}")
        elif args.switch_generation is not None:
            env.switch(args.switch_generation)
            print(f"switched to generation {args.switch_generation}", file=sys.stderr)
        elif args.delete_generations:
            gone = env.delete_generations(args.delete_generations)
            print(f"deleted generations: {' '.join(map(str, gone)) or 'none'}", file=sys.stderr)
    except (StoreError, ProfileError, EvaluationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _package_set(store: Store, config: list[str], lock: str | None) -> Pkgs:
    """The package set attributes are read from: the lock's packages, with the overlays
    and `pkgs.hermetic` of the configuration when one is given (evaluating it binds
    them; packages are looked up only when an attribute is read)."""
    if lock is None:
        lock = str(lock_path_for(config)) if config else LOCK_NAME
    pkgs = Pkgs(store, lock=lock)
    if config:
        evaluate(list(config), special_args={"pkgs": pkgs})
    return pkgs
