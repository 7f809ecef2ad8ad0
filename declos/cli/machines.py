"""`declos start`, `stop`, `destroy`: the lifecycle of machines a backend created.

Parsing and printing only; the work is declos.deploy.backends.lifecycle. Output: one
`MACHINE: message` line per machine on stdout; exit 3 when any machine failed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from declos.cli.deploy import _guarded, _sel, _selection, _session, _state
from declos.cli.main import UsageError
from declos.deploy.backends import MachineContext
from declos.deploy.backends.base import Backend
from declos.deploy.backends.lifecycle import run_lifecycle

COMMANDS = ("start", "stop", "destroy")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = _cmd(sub, "start", "power on created machines and wait for SSH", cmd_start)
    p = _cmd(sub, "stop", "shut machines down (ACPI, then a hard stop after --timeout)", cmd_stop)
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="default 60")
    p = _cmd(sub, "destroy", "remove machines: VM, disks, keys, state", cmd_destroy)
    p.add_argument("--confirm", action="store_true", help="really destroy (required)")


def _cmd(sub: Any, name: str, help_: str, func: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=help_)
    p.add_argument("-d", "--deployment", metavar="NAME", help="the deployment (name or uuid)")
    _selection(p)
    p.set_defaults(func=_guarded(func))
    return p


def _run(args: argparse.Namespace, verb: str, operation: Any) -> int:
    def log(machine: str, line: str) -> None:
        print(f"{machine}> {line}", file=sys.stderr, flush=True)

    with _state(name=args.deployment) as state:
        session = _session(state, args)
        names = session.select(_sel(args))
        results = run_lifecycle(session, names, verb, operation, log)
    for r in results:
        print(f"{r.machine}: {r.message}", flush=True)
    return 0 if all(r.ok for r in results) else 3


def cmd_start(args: argparse.Namespace) -> int:
    return _run(args, "start", lambda b, ctx: b.start(ctx))


def cmd_stop(args: argparse.Namespace) -> int:
    timeout = float(args.timeout)

    def stop(backend: Backend, ctx: MachineContext) -> str:
        return backend.stop(ctx, timeout)

    return _run(args, "stop", stop)


def cmd_destroy(args: argparse.Namespace) -> int:
    if not args.confirm:
        raise UsageError(
            "destroy removes the machines' VMs and disks for good; run it again with --confirm"
        )
    return _run(args, "destroy", lambda b, ctx: b.destroy(ctx))
