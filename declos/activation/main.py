"""`python3 -m declos.activation --system TOP ACTION [--root DIR]`: the activator's CLI.

This is what a closure's `activate` wrapper runs, on the target, as root. It parses,
checks the target tree, takes the lock and dispatches: activations are planned
(`plan.plan_activation`) and then either printed (dry-activate) or executed
(`execute.Execution`); generations are `declos.common.profiles`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from declos.activation.bootloader import generation_from_cmdline, install
from declos.activation.closure import System, load
from declos.activation.errors import (
    BootloaderError,
    ClosureError,
    EtcConflict,
    FirewallError,
    LockHeld,
    RefusedError,
    RootError,
    UsersError,
)
from declos.activation.execute import STEP_FAILED, Execution
from declos.activation.lock import ActivationLock
from declos.activation.paths import SYSTEM_PROFILE, Host
from declos.activation.plan import plan_activation, say
from declos.activation.state import ActivationState
from declos.activation.systemd_dbus import Systemd
from declos.common.ostree import NotAnOsTree, check_os_tree
from declos.common.profiles import ProfileError, Profiles, parse_age
from declos.common.safepath import PathEscape

USAGE = 1
ACTIONS = ("switch", "boot", "test", "dry-activate", "rollback", "generations", "boot-time")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="activate", description="Activate a declos system closure on this host.")
    p.add_argument("--system", required=True, metavar="TOP", help="the system closure (store path)")
    p.add_argument(
        "--root", metavar="DIR", help="files-only activation into DIR (no systemd, nft, mounts)"
    )
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("--delete", nargs="+", type=int, metavar="N", help="generations: delete these")
    p.add_argument(
        "--older-than", metavar="AGE", help="generations: delete those older than AGE (30d, 12h)"
    )
    p.add_argument(
        "--generation",
        type=int,
        metavar="N",
        help="boot-time: activate generation N (default: from declos.generation= on /proc/cmdline)",
    )
    return p


def check_root(given: str, action: str) -> Path:
    """The --root tree, refused before anything is written when it is not an OS tree
    (`generations` only reads the profiles, so any directory will do)."""
    root = Path(given).resolve()
    try:
        if action == "generations" and root.is_dir():
            return root
        check_os_tree(str(root), given)
    except NotAnOsTree as exc:
        raise RootError(str(exc)) from None
    return root


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        host = Host(check_root(args.root, args.action) if args.root else None)
    except RootError as exc:
        say(f"error: {exc}")
        return USAGE
    try:
        with ActivationLock(ActivationState(host).lock_path):
            return _dispatch(args, host)
    except LockHeld as exc:
        say(f"error: {exc}")
        return USAGE


def _dispatch(args: argparse.Namespace, host: Host) -> int:
    profiles = Profiles(host.profiles, host.locks)
    try:
        if args.action == "generations":
            return _generations(args, profiles)
        if args.action == "rollback":
            n = profiles.previous(SYSTEM_PROFILE)
            top = profiles.target(SYSTEM_PROFILE, n)
            say(f"rolling back to generation {n} ({top})")
            return activate(host, load(host, top), "switch", generation=n)
        if args.action == "boot-time":
            return _boot_time(args, host, profiles)
        system = load(host, args.system)
        if args.action == "boot":
            return _boot(host, system, profiles)
        return activate(host, system, args.action)
    except (ClosureError, ProfileError) as exc:
        say(f"error: {exc}")
        return USAGE
    except BootloaderError as exc:
        say(f"error: bootloader: {exc}")
        return STEP_FAILED


def activate(
    host: Host,
    system: System,
    action: str,
    *,
    generation: int | None = None,
    wait_jobs: bool = True,
) -> int:
    """Plan; then print the plan (dry-activate) or execute it. Returns the exit code."""
    try:
        systemd = Systemd() if host.live else None
    except (OSError, ValueError) as exc:
        say(f"error: cannot talk to systemd over the system D-Bus: {exc}")
        return STEP_FAILED
    try:
        plan = plan_activation(host, system, action, systemd)
    except EtcConflict as exc:
        for line in str(exc).splitlines():
            say(f"error: {line}")
        return STEP_FAILED
    except (UsersError, FirewallError) as exc:
        say(f"error: {'users' if isinstance(exc, UsersError) else 'firewall'}: {exc}")
        return STEP_FAILED
    except (RefusedError, PathEscape) as exc:
        say(f"error: {exc}; nothing was changed")
        return USAGE
    if action == "dry-activate":
        for line in plan.describe():
            say(line)
        return STEP_FAILED if plan.problems else 0
    return Execution(host, plan, systemd, generation=generation, wait_jobs=wait_jobs).run()


def _boot(host: Host, system: System, profiles: Profiles) -> int:
    """`boot`: the new generation becomes the default at next boot; nothing runs now."""
    n, _ = profiles.add(SYSTEM_PROFILE, system.top)
    if not system.is_container:
        line = install(host, profiles, n, system.boot.grub)
        if line:
            say(line)
    profiles.set_current(SYSTEM_PROFILE, n)
    return 0


def _generations(args: argparse.Namespace, profiles: Profiles) -> int:
    if args.delete or args.older_than:
        nums = list(args.delete or [])
        if args.older_than:
            nums += profiles.older_than(SYSTEM_PROFILE, parse_age(args.older_than))
        for n in profiles.delete(SYSTEM_PROFILE, sorted(set(nums))):
            say(f"removing generation {n}")
        return 0
    for g in profiles.generations(SYSTEM_PROFILE):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(g.created))
        print(f"{g.number:>5}   {when}   {g.path}{'   (current)' if g.current else ''}")
    return 0


def _boot_time(args: argparse.Namespace, host: Host, profiles: Profiles) -> int:
    """At boot: activate the generation the boot menu chose, without moving the profile."""
    n = args.generation
    if n is None and host.live:
        n = generation_from_cmdline(Path("/proc/cmdline").read_text())
    if n is None or n not in profiles.numbers(SYSTEM_PROFILE):
        if n is not None:
            say(
                f"warning: generation {n} (from the kernel command line) does not exist;"
                " using the current one"
            )
        n = profiles.current_number(SYSTEM_PROFILE)
    if n is None:
        say("no declos generation to activate")
        return 0
    top = profiles.target(SYSTEM_PROFILE, n)
    say(f"activating generation {n} ({top}) at boot")
    return activate(host, load(host, top), "boot-time", wait_jobs=False)
