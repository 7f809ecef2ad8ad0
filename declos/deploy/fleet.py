"""Talking to a deployment's machines: SSH hosts with the state's host keys, and `deploy()`.

`connect` makes an SSH host whose host key is checked against (or, at first contact,
learnt into) this deployment's state. `deploy()` runs the whole pipeline under the
deployment's lock and records each machine's outcome in the state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from declos.deploy.build import build_all
from declos.deploy.known_hosts import StateKnownHosts
from declos.deploy.lock import deployment_lock
from declos.deploy.pipeline import Deployer, DeployOptions, DeployPlan, MachineResult
from declos.deploy.report import Reporter
from declos.deploy.session import Selection, Session
from declos.deploy.targets import MachineTarget
from declos.hosts import HostKeyPolicy, SSHHost


def connect(
    session: Session, target: MachineTarget, announce: Callable[[str], None] | None = None
) -> Any:
    """An SSH host for `target`, its host key checked against (or learnt into) the state."""
    return SSHHost(
        target.host,
        target.port,
        target.user,
        key_file=target.key_file,
        known_hosts=StateKnownHosts(session.state, session.deployment, announce),
        policy=HostKeyPolicy.ACCEPT_NEW,
        connect_timeout=10.0,
        name=target.name,
    )


def deploy(
    session: Session,
    selection: Selection,
    options: DeployOptions,
    *,
    store: Any,
    make_reporter: Callable[[list[str]], Reporter],
    lock_timeout: float = 0.0,
    on_plan: Callable[[DeployPlan], None] | None = None,
) -> dict[str, MachineResult]:
    """The whole pipeline under the deployment's lock; results by machine name."""
    dep = session.deployment
    with deployment_lock(session.state, dep, "declos deploy", timeout=lock_timeout):
        names = session.select(selection)
        targets = session.targets(names)
        plan = DeployPlan(dep.name, options, targets)
        with make_reporter(names) as reporter:
            for n in names:
                reporter.phase(n, "building")
            built, errors = build_all(store, session.evaluation, names)
            results = {
                n: MachineResult(n, "build-failed", message=msg, phase="building")
                for n, msg in errors.items()
            }
            for n, msg in errors.items():
                reporter.finish(n, False, msg)
            plan.toplevels = {n: b.toplevel for n, b in built.items()}
            if on_plan is not None:
                on_plan(plan)
            if options.build_only:
                for n, b in built.items():
                    results[n] = MachineResult(n, "built", b.toplevel, b.toplevel)
                    reporter.finish(n, True, f"built {b.toplevel}")
            else:
                texts = session.key_texts(list(built))
                announce = _announcer(reporter)
                deployer = Deployer(
                    plan, store, lambda t: connect(session, t, announce(t.name)), reporter, texts
                )
                results.update(deployer.run())
        _record(session, targets, results)
    return results


def _announcer(reporter: Reporter) -> Callable[[str], Callable[[str], None]]:
    def for_machine(name: str) -> Callable[[str], None]:
        return lambda line: reporter.line(name, line)

    return for_machine


def _record(
    session: Session, targets: dict[str, MachineTarget], results: dict[str, MachineResult]
) -> None:
    now = time.time()
    for name, r in results.items():
        t = targets[name]
        attrs: dict[str, Any] = {
            "backend": t.target_env,
            "host": t.host,
            "port": t.port,
            "lastOutcome": r.outcome,
            "lastMessage": r.message,
            "lastDeploy": now,
        }
        if r.outcome in ("deployed", "unchanged"):
            attrs.update(status="up", toplevel=r.toplevel, generation=r.generation)
        elif r.outcome in ("failed", "rolled-back"):
            attrs["status"] = r.outcome
        session.state.update_machine(session.deployment, name, **attrs)
        session.state.log_deploy(session.deployment, name, now - r.seconds, r.outcome, r.toplevel)
