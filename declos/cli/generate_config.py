"""`declos generate-config`: write configuration.yaml and hardware-configuration.yaml for
an existing host (this one, `--root DIR`, or `--target [ssh://][user@]host[:port]`).

Parsing and printing only; the work is declos.deploy.backends.adopt.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from declos.cli.deploy import _guarded
from declos.deploy.backends.adopt import (
    CONFIGURATION,
    HARDWARE,
    AdoptError,
    Source,
    configuration,
    gather,
    hardware_configuration,
    write_files,
)
from declos.hosts import Host, LocalHost, ssh_host_from_url

COMMANDS = ("generate-config",)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "generate-config",
        help="describe an existing host as declos configuration (nixos-generate-config)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--root", metavar="DIR", help="an installed tree (files only, no live facts)"
    )
    where.add_argument("--target", metavar="[ssh://][USER@]HOST[:PORT]", help="a host over SSH")
    p.add_argument("-i", "--identity", metavar="KEY", help="SSH private key for --target")
    p.add_argument(
        "--known-hosts", metavar="FILE", help="known_hosts for --target (strict; default ~/.ssh)"
    )
    p.add_argument(
        "--dir",
        metavar="DIR",
        help="where to write (default: ROOT/etc/declos; with --target: the current directory)",
    )
    p.add_argument("--force", action="store_true", help="overwrite (the old files become .bak)")
    p.add_argument(
        "--show-hardware-config",
        action="store_true",
        help="print hardware-configuration.yaml on stdout, write nothing",
    )
    p.set_defaults(func=_guarded(cmd_generate_config))


def cmd_generate_config(args: argparse.Namespace) -> int:
    host: Host
    if args.target:
        url = args.target if "://" in args.target else f"ssh://{args.target}"  # user@host
        host = ssh_host_from_url(url, key_file=args.identity, known_hosts_file=args.known_hosts)
        origin, default_dir = args.target, Path.cwd()
        src = Source(host)
    else:
        root = os.path.abspath(args.root) if args.root else "/"
        if not os.path.isdir(root):
            raise AdoptError(f"--root {args.root}: not a directory")
        host = LocalHost()
        origin = f"the tree at {root}" if args.root else f"this host ({os.uname().nodename})"
        default_dir = Path(root) / "etc" / "declos"
        src = Source(host, root, live=not args.root)
    with host:
        facts = gather(src)
    hardware = hardware_configuration(facts, origin)
    if args.show_hardware_config:
        sys.stdout.write(hardware)
        return 0
    files = {HARDWARE: hardware, CONFIGURATION: configuration(facts, origin)}
    directory = Path(args.dir) if args.dir else default_dir
    write_files(directory, files, args.force, lambda line: print(line))
    return 0
