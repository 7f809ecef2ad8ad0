"""One command on one deployment: its state, network, selection, hosts and store together.

`Session` is what every `declos` fleet command starts from: the deployment from the state,
its network files loaded and evaluated on demand, the machines selected, and SSH hosts
made with the host keys of this deployment's state. `deploy()` runs the whole pipeline
under the deployment's lock and records each machine's outcome in the state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from declos.deploy.build import build_all
from declos.deploy.evaluate import NetworkEvaluation
from declos.deploy.known_hosts import StateKnownHosts
from declos.deploy.lock import deployment_lock
from declos.deploy.network import Network, load_network
from declos.deploy.pipeline import Deployer, DeployOptions, DeployPlan, MachineResult
from declos.deploy.report import Reporter
from declos.deploy.state import Deployment, State
from declos.deploy.targets import MachineTarget, select, target_of
from declos.hosts import HostKeyPolicy, SSHHost


@dataclass
class Selection:
    on: str | None = None
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()


@dataclass
class Session:
    state: State
    deployment: Deployment
    pkgs: Any = None
    _network: Network | None = field(default=None, repr=False)
    _evaluation: NetworkEvaluation | None = field(default=None, repr=False)

    @property
    def network(self) -> Network:
        if self._network is None:
            self._network = load_network([f.resolve() for f in self.state.files(self.deployment)])
        return self._network

    @property
    def evaluation(self) -> NetworkEvaluation:
        if self._evaluation is None:
            self._evaluation = NetworkEvaluation(self.network, pkgs=self.pkgs)
        return self._evaluation

    def targets(self, names: Sequence[str]) -> dict[str, MachineTarget]:
        return {n: target_of(n, self.evaluation.evaluation(n).value("deployment")) for n in names}

    def select(self, sel: Selection) -> list[str]:
        names = sorted(self.network.machines)
        tags: dict[str, Sequence[str]] = {}
        if sel.on and "@" in sel.on:
            tags = {n: t.tags for n, t in self.targets(names).items()}
        return select(names, tags, on=sel.on, include=sel.include, exclude=sel.exclude)

    def key_texts(self, names: Sequence[str]) -> dict[str, dict[str, str | None]]:
        """`deployment.keys.*.text` per machine, held in memory only for the upload."""
        out = {}
        for n in names:
            keys = self.evaluation.evaluation(n).value("deployment.keys")
            out[n] = {k: v.get("text") for k, v in keys.items()}
        return out

    def connect(self, target: MachineTarget, announce: Callable[[str], None] | None = None) -> Any:
        """An SSH host for `target`, its host key checked against (or learnt into) the state."""
        return SSHHost(
            target.host,
            target.port,
            target.user,
            key_file=target.key_file,
            known_hosts=StateKnownHosts(self.state, self.deployment, announce),
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
                    plan, store, lambda t: session.connect(t, announce(t.name)), reporter, texts
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
