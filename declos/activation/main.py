"""`python3 -m declos.activation --system TOP ACTION [--root DIR]`: the activator's CLI.

This is what a closure's `activate` wrapper runs, on the target, as root. It parses,
takes the lock and dispatches; the work is in activate.Activation and generations.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from declos.activation.activate import STEP_FAILED, Activation, say
from declos.activation.bootloader import BootloaderError, generation_from_cmdline, install
from declos.activation.closure import ClosureError, load
from declos.activation.lock import ActivationLock, LockHeld
from declos.activation.paths import SYSTEM_PROFILE, Host
from declos.activation.state import ActivationState
from declos.common.profiles import ProfileError, Profiles, parse_age

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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    root = Path(args.root).resolve() if args.root else None
    if root is not None and not root.is_dir():
        say(f"error: --root {args.root}: not a directory")
        return USAGE
    if root is not None and args.action not in ("generations",):
        missing = [
            f"etc/{name}" for name in ("passwd", "group") if not (root / "etc" / name).is_file()
        ]
        if missing:
            # Checked before anything is written: users and /etc ownership need the
            # tree's own account databases, and a half-activated tree is worse than none.
            say(
                f"error: --root {args.root}: {', '.join(missing)} missing; --root activates into "
                "an existing system tree (for example one made with mmdebstrap); nothing was changed"
            )
            return USAGE
    host = Host(root)
    state = ActivationState(host)
    try:
        with ActivationLock(state.lock_path):
            return _dispatch(args, host)
    except LockHeld as exc:
        say(f"error: {exc}")
        return USAGE


def _dispatch(args: argparse.Namespace, host: Host) -> int:
    profiles = Profiles(host.profiles)
    try:
        if args.action == "generations":
            return _generations(args, profiles)
        if args.action == "rollback":
            n = profiles.previous(SYSTEM_PROFILE)
            top = profiles.target(SYSTEM_PROFILE, n)
            say(f"rolling back to generation {n} ({top})")
            return Activation(host, load(host, top), "switch", generation=n).run()
        if args.action == "boot-time":
            return _boot_time(args, host, profiles)
        system = load(host, args.system)
        if args.action == "boot":
            n, _ = profiles.add(SYSTEM_PROFILE, system.top)
            line = install(host, profiles, n, system.boot.get("grub") or {})
            if line:
                say(line)
            profiles.set_current(SYSTEM_PROFILE, n)
            return 0
        return Activation(host, system, args.action).run()
    except (ClosureError, ProfileError) as exc:
        say(f"error: {exc}")
        return USAGE
    except BootloaderError as exc:
        say(f"error: bootloader: {exc}")
        return STEP_FAILED


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
                f"warning: generation {n} (from the kernel command line) does not exist; using the current one"
            )
        n = profiles.current_number(SYSTEM_PROFILE)
    if n is None:
        say("no declos generation to activate")
        return 0
    top = profiles.target(SYSTEM_PROFILE, n)
    say(f"activating generation {n} ({top}) at boot")
    return Activation(host, load(host, top), "boot-time", wait_jobs=False).run()
