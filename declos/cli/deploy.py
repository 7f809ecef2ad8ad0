"""Fleet commands with NixOps' names: create, modify, clone, delete, list, info, deploy,
check, ssh, ssh-for-each, scp, reboot, rollback N, list-generations, delete-generation,
send-keys, show-option, export, import, forget-host-key. Parsing and printing only; the
work is in declos.deploy. `-d` may be omitted when exactly one deployment exists.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from declos.cli.main import UsageError
from declos.deploy import netgens
from declos.deploy.errors import DeployError, NoSuchDeployment
from declos.deploy.fleet import connect, deploy, rollback_network
from declos.deploy.fleet_ops import (
    check,
    for_each,
    generations,
    reboot,
    rollback_to,
    run_command,
    send_keys,
)
from declos.deploy.interactive import exec_ssh
from declos.deploy.manage import export, import_, info_rows
from declos.deploy.pipeline import DeployOptions, DeployPlan, exit_code
from declos.deploy.report import Reporter, reporter
from declos.deploy.session import Selection, Session, check_network
from declos.deploy.state import State, default_path, state_url

COMMANDS = (
    "create",
    "modify",
    "clone",
    "delete",
    "list",
    "info",
    "deploy",
    "check",
    "ssh",
    "ssh-for-each",
    "scp",
    "reboot",
    "list-generations",
    "delete-generation",
    "send-keys",
    "show-option",
    "export",
    "import",
    "forget-host-key",
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = _cmd(sub, "create", "create a deployment from network files", cmd_create)
    p.add_argument("files", nargs="+", metavar="FILE", help="network files (YAML or Python)")
    p = _cmd(sub, "modify", "change a deployment's network files or name", cmd_modify)
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("-n", "--name", help="new name of the deployment")
    p = _cmd(sub, "clone", "copy a deployment under a new name", cmd_clone)
    p.add_argument("-n", "--name", required=True, help="name of the copy")
    p = _cmd(sub, "delete", "forget a deployment (its machines are left alone)", cmd_delete)
    p.add_argument("--force", action="store_true", help="delete even if machines are up")
    sub.add_parser("list", help="list deployments").set_defaults(func=_guarded(cmd_list))
    p = _cmd(sub, "info", "show the machines of a deployment", cmd_info)
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-eval", action="store_true", help="state only; do not read the network")
    _deploy_parser(sub)
    p = _cmd(sub, "check", "reachability, failed units and mounts, closure", cmd_check)
    _selection(p)
    p = _cmd(sub, "ssh", "log in to a machine (or run CMD there)", cmd_ssh)
    p.add_argument("machine")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = _cmd(sub, "ssh-for-each", "run a command on every machine", cmd_ssh_for_each)
    _selection(p)
    p.add_argument("-p", "--parallel", action="store_true", help="on all machines at once")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = _cmd(sub, "scp", "copy a file to or from a machine", cmd_scp)
    way = p.add_mutually_exclusive_group(required=True)
    way.add_argument("--to", metavar="MACHINE")
    way.add_argument("--from", dest="from_", metavar="MACHINE")
    p.add_argument("source")
    p.add_argument("destination")
    p = _cmd(sub, "reboot", "reboot machines and wait for them", cmd_reboot)
    _selection(p)
    p.add_argument("--no-wait", action="store_true")
    p = _cmd(sub, "list-generations", "each machine's system generations", cmd_generations)
    _selection(p)
    p = _cmd(sub, "delete-generation", "delete generation N on machines", cmd_delete_generation)
    _selection(p)
    p.add_argument("generation", type=int)
    p = _cmd(sub, "send-keys", "upload deployment.keys again", cmd_send_keys)
    _selection(p)
    p = _cmd(sub, "show-option", "an option's value on a machine", cmd_show_option)
    p.add_argument("machine")
    p.add_argument("option")
    p.add_argument("--json", action="store_true")
    p = _cmd(sub, "export", "print deployments as JSON", cmd_export)
    p.add_argument("--all", action="store_true", help="every deployment")
    p.add_argument("--include-keys", action="store_true", help="include the learnt host keys")
    p = sub.add_parser("import", help="create deployments from `declos export` JSON on stdin")
    p.add_argument("--include-keys", action="store_true", help="import host keys too")
    p.set_defaults(func=_guarded(cmd_import))
    p = _cmd(sub, "forget-host-key", "forget a machine's host key (learnt anew)", cmd_forget_key)
    p.add_argument("machine")


def _cmd(sub: Any, name: str, help_: str, func: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=help_)
    p.add_argument("-d", "--deployment", metavar="NAME", help="the deployment (name or uuid)")
    p.set_defaults(func=_guarded(func))
    return p


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Deployment errors are printed as `error:` lines, exit 1, no traceback (evaluation
    errors too, by declos.cli.main)."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except DeployError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    return run


def _selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--on", metavar="RULES", help="machines: globs and @tags, comma-separated")
    p.add_argument("--include", nargs="+", default=[], metavar="MACHINE")
    p.add_argument("--exclude", nargs="+", default=[], metavar="MACHINE")


def _deploy_parser(sub: Any) -> None:
    p = _cmd(sub, "deploy", "build, copy and activate the machines' configurations", cmd_deploy)
    _selection(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    mode.add_argument("--build-only", action="store_true")
    mode.add_argument("--copy-only", action="store_true")
    mode.add_argument("--dry-activate", action="store_true")
    mode.add_argument("--test", action="store_true", help="activate without a new generation")
    mode.add_argument("--boot", action="store_true", help="activate at next boot")
    p.add_argument("--max-concurrent-copy", type=int, default=5, metavar="N")
    p.add_argument("--max-concurrent-activate", type=int, default=0, metavar="N")
    p.add_argument(
        "--allow-reboot",
        action="store_true",
        help="reboot (and wait, and check) a machine whose new kernel, initrd or kernel "
        "parameters need one; with --boot, reboot into the new configuration",
    )
    p.add_argument("--force-reboot", action="store_true", help="reboot after activation")
    p.add_argument("--confirm-timeout", type=int, metavar="S")
    p.add_argument("--no-rollback", action="store_true", help="no magic rollback")
    p.add_argument("--always-activate", action="store_true")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--lock-timeout", type=float, default=0.0, metavar="S")
    p.add_argument("--store-root", metavar="DIR", help="build into the store under DIR")
    p.add_argument(
        "--no-eval-cache",
        action="store_true",
        help="evaluate and build even when no input changed since the last deploy",
    )


def cmd_create(args: argparse.Namespace) -> int:
    check_network(args.files)
    with _state(create=True) as state:
        dep = state.create(args.deployment or "default", args.files)
    print(dep.uuid)
    return 0


def cmd_modify(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        dep = state.find(args.deployment)
        if args.files:
            check_network(args.files)
            state.set_files(dep, args.files)
        if args.name:
            state.rename(dep, args.name)
    return 0


def cmd_clone(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        print(state.clone(state.find(args.deployment), args.name).uuid)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        dep = state.find(args.deployment)
        up = [m for m, a in state.machines(dep).items() if a.get("status") == "up"]
        if up and not args.force:
            raise UsageError(
                f"deployment {dep.name!r} has machines that are up ({', '.join(up)}); "
                "declos leaves them running; pass --force to forget them"
            )
        state.delete(dep)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    if not state_url() and not default_path().exists():
        return 0  # no state file: no deployments (and none is created by looking)
    with _state() as state:
        for dep in state.deployments():
            files = " ".join(f.path for f in state.files(dep))
            print(f"{dep.uuid}  {dep.name:<16} {len(state.machines(dep)):>3} machines  {files}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        session = _session(state, args)
        values: dict[str, Any] = {}
        if not args.no_eval:
            names = sorted(session.network.machines)
            values = {n: session.evaluation.evaluation(n).value("deployment") for n in names}
        rows = info_rows(state, session.deployment, values)
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return 0
    head = ("MACHINE", "STATUS", "BACKEND", "HOST", "GENERATION", "LAST DEPLOY", "OUTCOME")
    table = [
        head,
        *(
            (r.machine, r.status, r.backend, r.host, r.generation, r.last_deploy, r.outcome)
            for r in rows
        ),
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    action = "test" if args.test else "boot" if args.boot else "switch"
    if args.dry_activate:
        action = "dry-activate"
    options = DeployOptions(
        action=action,
        build_only=args.build_only,
        copy_only=args.copy_only,
        max_concurrent_copy=args.max_concurrent_copy,
        max_concurrent_activate=args.max_concurrent_activate,
        confirm_timeout=args.confirm_timeout,
        no_rollback=args.no_rollback,
        force_activate=args.always_activate,
        allow_reboot=args.allow_reboot,
        force_reboot=args.force_reboot,
    )
    store_root = os.path.abspath(args.store_root) if args.store_root else None
    made: list[Reporter] = []

    def make(names: list[str]) -> Reporter:
        made.append(reporter(names, sys.stderr, live=None if not args.json else False))
        return made[-1]

    with _state(name=args.deployment) as state:
        session = Session(state, state.find(args.deployment), store_root=store_root, with_pkgs=True)
        if args.dry_run:
            names = session.select(_sel(args))
            plan = DeployPlan(session.deployment.name, options, session.targets(names))
            print("\n".join(plan.describe()))
            return 0
        results = deploy(
            session,
            _sel(args),
            options,
            make_reporter=make,
            lock_timeout=args.lock_timeout,
            use_cache=not args.no_eval_cache,
        )
    _summary(results, made[0] if made else None, args.json)
    return exit_code(results)


def _summary(results: dict[str, Any], rep: Any, as_json: bool) -> None:
    if as_json:
        out = {
            n: {
                "outcome": r.outcome,
                "message": r.message,
                "toplevel": r.toplevel,
                "generation": r.generation,
                "seconds": round(r.seconds, 3),
            }
            for n, r in sorted(results.items())
        }
        print(json.dumps(out, indent=2, sort_keys=True))
        return
    width = max((len(n) for n in results), default=7)
    print(f"{'MACHINE'.ljust(width)}  {'RESULT':<13} {'TIME':>7}  MESSAGE")
    for name, r in sorted(results.items()):
        print(f"{name.ljust(width)}  {r.outcome:<13} {r.seconds:>6.1f}s  {r.message}")
    failed = [r for r in results.values() if not r.ok]
    for r in sorted(failed, key=lambda r: r.name):
        if rep is None or r.name not in rep.machines:
            continue
        print(f"\n--- last lines of {r.name} ({r.outcome}) ---", file=sys.stderr)
        for line in rep.machines[r.name].lines:
            print(f"{r.name}> {line}", file=sys.stderr)
    ok = len(results) - len(failed)
    print(f"{ok} of {len(results)} machine(s) at their new configuration", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        session = _session(state, args)
        expected = {m: a.get("toplevel") for m, a in state.machines(session.deployment).items()}
        return _for_each(session, args, check(expected))


def cmd_ssh(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        session = _session(state, args)
        target = session.targets([_machine(session, args.machine)])[args.machine]
        return exec_ssh(state, session.deployment, target, args.command)


def cmd_ssh_for_each(args: argparse.Namespace) -> int:
    command = [c for c in args.command if c != "--"] if args.command else []
    if not command:
        raise UsageError("ssh-for-each needs a command: declos ssh-for-each -- CMD ARGS...")
    with _state(name=args.deployment) as state:
        return _for_each(_session(state, args), args, run_command(command), args.parallel)


def cmd_scp(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        session = _session(state, args)
        name = _machine(session, args.to or args.from_)
        with connect(session, session.targets([name])[name]) as host:
            if args.to:
                host.put(Path(args.source).read_bytes(), args.destination, mode=0o644)
            else:
                Path(args.destination).write_bytes(host.get(args.source))
    return 0


def cmd_reboot(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        return _for_each(_session(state, args), args, reboot(not args.no_wait))


def cmd_rollback(args: argparse.Namespace) -> int:
    """`declos rollback -d NAME N` (registered by declos.cli.system, which owns `rollback`)."""
    if args.generation is None:
        raise UsageError("rollback -d NAME needs the generation: declos rollback -d NAME N")
    return _guarded(_rollback)(args)


def _rollback(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        session = _session(state, args)
        if not session.network.enable_rollback:
            return _for_each(session, args, rollback_to(args.generation))
        made: list[Reporter] = []

        def make(names: list[str]) -> Reporter:
            made.append(reporter(names, sys.stderr))
            return made[-1]

        session.with_pkgs = True
        results = rollback_network(
            session, _sel(args), args.generation, DeployOptions(), make_reporter=make
        )
    _summary(results, made[0] if made else None, False)
    return exit_code(results)


def cmd_generations(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        session = _session(state, args)
        if session.network.enable_rollback:
            for g in netgens.generations(state, session.deployment):
                print(g.describe())
            return 0
        return _for_each(session, args, generations(), parallel=False)


def cmd_delete_generation(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        action = generations(["--delete", str(args.generation)])
        return _for_each(_session(state, args), args, action)


def cmd_send_keys(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        session = _session(state, args)
        names = session.select(_sel(args))
        return _for_each(session, args, send_keys(session.key_texts(names)))


def cmd_show_option(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        session = _session(state, args)
        ev = session.evaluation.evaluation(_machine(session, args.machine))
        value = ev.to_json(args.option)
    if args.json or not isinstance(value, str):
        print(json.dumps(value, indent=2, sort_keys=True))
    else:
        print(value)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        deps = state.deployments() if args.all else [state.find(args.deployment)]
        print(json.dumps(export(state, deps, args.include_keys), indent=2, sort_keys=True))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    try:
        data = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        raise UsageError(f"<stdin>:{exc.lineno}: not JSON: {exc.msg}") from None
    with _state(create=True) as state:
        for name in import_(state, data, args.include_keys):
            print(f"imported {name}")
    return 0


def cmd_forget_key(args: argparse.Namespace) -> int:
    with _state(name=args.deployment) as state:
        session = _session(state, args)
        t = session.targets([_machine(session, args.machine)])[args.machine]
        n = state.forget_host_keys(session.deployment, t.host, t.port)
    print(
        f"forgot {n} host key(s) of {args.machine} ({t.host}:{t.port}); the next contact learns it"
    )
    return 0


# -- helpers -----------------------------------------------------------------------------


def _state(create: bool = False, name: str | None = None) -> State:
    """The state database; only `create` and `import` may create it (others never write
    a state file into existence just by looking)."""
    url = state_url()
    if url:  # PostgreSQL: the database exists; its tables are created on first use
        return State(url)
    path = default_path()
    if not create and not path.exists():
        what = f"no deployment named {name!r}" if name else "no deployment exists yet"
        raise NoSuchDeployment(
            f"{what} (no state at {path}); "
            f"create one with `declos create -d {name or 'NAME'} FILE...`"
        )
    return State(path)


def _session(state: State, args: argparse.Namespace) -> Session:
    return Session(state, state.find(args.deployment))


def _sel(args: argparse.Namespace) -> Selection:
    return Selection(
        getattr(args, "on", None), getattr(args, "include", ()), getattr(args, "exclude", ())
    )


def _machine(session: Any, name: str) -> str:
    if name not in session.network.machines:
        known = ", ".join(sorted(session.network.machines))
        raise UsageError(f"no machine {name!r} in deployment {session.deployment.name!r} ({known})")
    return name


def _for_each(session: Any, args: argparse.Namespace, action: Any, parallel: bool = True) -> int:
    names = session.select(_sel(args))
    with Reporter(names, sys.stdout) as reporter:
        reports = for_each(session, names, action, reporter, parallel=parallel)
    return 0 if all(r.ok for r in reports.values()) else 3
