"""`declos pkgs audit PKG...`: what maintainer scripts would do that declos does not."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from declos.pkgs.debian.audit import audit_deb
from declos.pkgs.debian.builders import fetch_deb
from declos.pkgs.debian.errors import DebianError
from declos.pkgs.debian.lockfile import read_lock


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("pkgs", help="inspect locked Debian packages")
    sub = p.add_subparsers(dest="pkgs_command", metavar="SUBCOMMAND")
    a = sub.add_parser(
        "audit",
        help="list what a package's maintainer scripts do that declos does not",
        description="Read the locked .deb of each PKG (fetched into ~/.cache/declos/debs if "
        "needed) and list every effect of its maintainer scripts, conffiles, triggers and "
        "setuid files, with the declos option that replaces it.",
    )
    a.add_argument("--lock", metavar="PATH", default="declos.lock", help="the lock file")
    a.add_argument("packages", nargs="+", metavar="PKG")
    a.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:

    try:
        lock = read_lock(args.lock)
        for name in args.packages:
            pkg = lock.get(name)
            findings = audit_deb(fetch_deb(pkg.filename, pkg.suite, pkg.sha256))
            print(f"{name} {pkg.version}: {len(findings)} effect(s) declos does not perform")
            for f in findings:
                print(f"  {f}")
    except DebianError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
