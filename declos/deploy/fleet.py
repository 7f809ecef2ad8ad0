"""Talking to a deployment's machines: SSH hosts with the state's host keys, and `deploy()`.

`connect` makes an SSH host whose host key is checked against (or, at first contact,
learnt into) this deployment's state. `deploy()` runs the whole pipeline under the
deployment's lock and records each machine's outcome in the state.

A redeploy whose inputs are unchanged (declos.deploy.evalcache) first probes every machine
with the recorded toplevels; machines already there are `unchanged` without evaluating
anything. Only the others go through evaluation and build (declos.deploy.build, imported
then, with the module system, the package set and the builder).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import declos.hosts
from declos.deploy import evalcache, netgens
from declos.deploy.backends import Creator, not_running, placed
from declos.deploy.errors import SelectionError
from declos.deploy.known_hosts import StateKnownHosts
from declos.deploy.lock import deployment_lock
from declos.deploy.openssh import OpenSSHProbe
from declos.deploy.pipeline import Deployer, DeployOptions, DeployPlan, MachineResult
from declos.deploy.report import Reporter
from declos.deploy.session import Selection, Session
from declos.deploy.targets import MachineTarget, select, target_of


def connect(
    session: Session, target: MachineTarget, announce: Callable[[str], None] | None = None
) -> Any:
    """An SSH host for `target`, its host key checked against (or learnt into) the state.

    A machine a backend created had its host key recorded at creation: strict from the
    first contact. (`declos.hosts.SSHHost` loads paramiko on first use: a cached no-op
    that probes with OpenSSH never needs it.)"""
    policy = declos.hosts.HostKeyPolicy
    return declos.hosts.SSHHost(
        target.host,
        target.port,
        target.user,
        key_file=target.key_file,
        known_hosts=StateKnownHosts(session.state, session.deployment, announce),
        policy=policy.ACCEPT_NEW if target.target_env == "none" else policy.STRICT,
        connect_timeout=10.0,
        name=target.name,
    )


def deploy(
    session: Session,
    selection: Selection,
    options: DeployOptions,
    *,
    make_reporter: Callable[[list[str]], Reporter],
    lock_timeout: float = 0.0,
    on_plan: Callable[[DeployPlan], None] | None = None,
    use_cache: bool = True,
) -> dict[str, MachineResult]:
    """The whole pipeline under the deployment's lock; results by machine name."""
    dep = session.deployment
    with deployment_lock(session.state, dep, "declos deploy", timeout=lock_timeout):
        files = [f.resolve() for f in session.state.files(dep)]
        key = evalcache.key_of(session.store_root, os.environ, files)
        cache = evalcache.load(session.state, dep, key) if use_cache else None
        if cache is not None and cacheable(options) and on_plan is None:
            names = cached_selection(cache, selection)
            if names is not None and not _backend_down(session, cache, names):
                with make_reporter(names) as reporter:
                    results = _probe_cached(session, cache, names, options, reporter)
                    stale = [n for n, r in results.items() if r.outcome == "stale"]
                    if stale:
                        full = _full(session, lambda: stale, options, reporter, None, cache, key)
                        results.update(full)
                _record(session, _cached_targets(session, cache, names, stale), results)
                return results
        with _recorder(session) as recorder:
            names = session.select(selection)  # loads the network: its files are inputs
        with make_reporter(names) as reporter:
            results = _full(session, lambda: names, options, reporter, on_plan, None, key, recorder)
    return results


def _recorder(session: Session) -> evalcache.InputRecorder:
    store = session.store
    return evalcache.InputRecorder(
        evalcache.ignored_roots([store.physical_store, store.physical_state]),
        evalcache.state_files(session.state.path),
    )


def _backend_down(session: Session, cache: evalcache.EvalCache, names: Sequence[str]) -> bool:
    """Whether a selected backend machine is not running (deleted, stopped): then the
    full pipeline runs, which creates or starts it."""
    recorded = session.state.machines(session.deployment)
    return any(
        not_running(cache.target(n), recorded.get(n, {}), session.deployment.name) is not None
        for n in names
    )


def _cached_targets(
    session: Session, cache: evalcache.EvalCache, names: Sequence[str], skip: Sequence[str] = ()
) -> dict[str, MachineTarget]:
    """The recorded targets, backend machines at their recorded addresses."""
    recorded = session.state.machines(session.deployment)
    return {n: placed(cache.target(n), recorded.get(n, {})) for n in names if n not in skip}


def cacheable(options: DeployOptions) -> bool:
    """Deploy modes a recorded toplevel can answer (a plain switch, test or boot)."""
    return (
        options.action in ("switch", "test", "boot")
        and not (options.build_only or options.copy_only or options.force_activate)
        and not options.force_reboot
    )


def cached_selection(cache: evalcache.EvalCache, selection: Selection) -> list[str] | None:
    """The selected machines by the record's names and tags (None: not all recorded)."""
    tags = {n: cache.target(n).tags for n in cache.names if n in cache.machines}
    try:
        names = select(
            cache.names,
            tags,
            on=selection.on,
            include=selection.include,
            exclude=selection.exclude,
        )
    except SelectionError:
        return None  # evaluate, so the error names what the network really has
    return names if cache.covers(names) else None


def _probe_cached(
    session: Session,
    cache: evalcache.EvalCache,
    names: Sequence[str],
    options: DeployOptions,
    reporter: Reporter,
) -> dict[str, MachineResult]:
    targets = _cached_targets(session, cache, names)
    plan = DeployPlan(session.deployment.name, options, targets)
    plan.toplevels = {n: cache.toplevel(n) for n in names}
    deployer = Deployer(
        plan,
        None,
        lambda t: OpenSSHProbe(session.state, session.deployment, t),
        reporter,
        {},
        probe_only=True,
    )
    return deployer.run()


def _full(
    session: Session,
    pick: Callable[[], list[str]],
    options: DeployOptions,
    reporter: Reporter,
    on_plan: Callable[[DeployPlan], None] | None,
    cache: evalcache.EvalCache | None,
    key: str,
    recorder: evalcache.InputRecorder | None = None,
) -> dict[str, MachineResult]:
    """Evaluate, build and deploy the machines `pick()` names, each machine's deploy
    starting as soon as its closure is built; record what the closures came from (adding
    to `recorder`, which saw the network load, when given)."""
    from declos.deploy.build import build_stream

    dep = session.deployment
    recorder = recorder or _recorder(session)
    plan = DeployPlan(dep.name, options, {})
    results: dict[str, MachineResult] = {}
    built: dict[str, str] = {}
    texts: dict[str, dict[str, str | None]] = {}
    announce = _announcer(reporter)
    creator = Creator(session.state, dep, reporter.line)

    def reach(t: MachineTarget) -> Any:  # a deploy thread: wait for a created machine
        plan.targets[t.name] = where = creator.place(t)
        return connect(session, where, announce(t.name))

    deployer = Deployer(plan, session.store, reach, reporter, texts)
    futures: list[Future[MachineResult]] = []
    with recorder:
        names = pick()
        for n in names:
            reporter.phase(n, "building")
        with ThreadPoolExecutor(max(1, len(names)), thread_name_prefix="declos-deploy") as pool:

            def evaluated(name: str, ev: Any) -> None:  # this thread: the evaluator's
                values = ev.value("deployment")
                plan.targets[name] = target_of(name, values)
                if not options.build_only and on_plan is None:
                    creator.submit(plan.targets[name], values)  # boots while it builds
                keys = ev.value("deployment.keys")
                texts[name] = {k: v.get("text") for k, v in keys.items()}

            def done(name: str, top: str | None, error: str | None) -> None:  # a build thread
                if top is None:
                    results[name] = MachineResult(
                        name, "build-failed", error or "", phase="building"
                    )
                    reporter.finish(name, False, error or "build failed")
                    return
                built[name] = plan.toplevels[name] = top
                if options.build_only or on_plan is not None:
                    return
                futures.append(pool.submit(deployer.machine, name))

            build_stream(session.store, session.evaluation, names, evaluated=evaluated, done=done)
            all_names = sorted(session.network.machines)
            recorder.close()
            _remember(session, recorder, cache, key, all_names, plan.targets, built)
            if on_plan is not None:
                on_plan(plan)
                futures += [pool.submit(deployer.machine, n) for n in sorted(built)]
            for f in futures:
                r = f.result()
                results[r.name] = r
    creator.close()
    if options.build_only:
        for n, top in built.items():
            results[n] = MachineResult(n, "built", top, top)
            reporter.finish(n, True, f"built {top}")
    _record(session, plan.targets, results)
    if any(r.outcome == "deployed" for r in results.values()) and session.network.enable_rollback:
        gen = netgens.record(session.state, dep, session.store)
        for n in names:
            reporter.line(n, f"network generation {gen.number} recorded")
    return results


def rollback_network(
    session: Session,
    selection: Selection,
    number: int,
    options: DeployOptions,
    *,
    make_reporter: Callable[[list[str]], Reporter],
    lock_timeout: float = 0.0,
) -> dict[str, MachineResult]:
    """NixOps' `rollback N` with `network.enableRollback`: copy and activate each selected
    machine's closure of network generation N (kept in the local store), through the
    deploy pipeline (confirmation, magic rollback, health checks), without evaluating."""
    dep = session.deployment
    with deployment_lock(session.state, dep, f"declos rollback {number}", timeout=lock_timeout):
        gen = netgens.find(session.state, dep, number)
        session.store_root = gen.store_root  # where its closures are kept
        names = [n for n in session.select(selection) if n in gen.machines]
        if not names:
            raise SelectionError(f"no selected machine is in network generation {number}")
        targets = session.targets(names)
        plan = DeployPlan(dep.name, options, targets, {n: gen.machines[n] for n in names})
        with make_reporter(names) as reporter:
            announce = _announcer(reporter)
            deployer = Deployer(
                plan,
                session.store,
                lambda t: connect(session, t, announce(t.name)),
                reporter,
                session.key_texts(names),
            )
            results = deployer.run()
        _record(session, targets, results)
    return results


def _remember(
    session: Session,
    recorder: evalcache.InputRecorder,
    cache: evalcache.EvalCache | None,
    key: str,
    all_names: list[str],
    targets: dict[str, MachineTarget],
    built: dict[str, str],
) -> None:
    """Record the inputs and toplevels for the next deploy (added to `cache`, whose inputs
    were just found unchanged), or drop the record when the evaluation was impure."""
    if recorder.impure:
        evalcache.forget(session.state, session.deployment)
        return
    new = cache or evalcache.EvalCache(key)
    new.inputs.update(recorder.stamps())
    new.names = all_names
    for n, top in built.items():
        new.record(n, targets[n], top)
    evalcache.save(session.state, session.deployment, new)


def _announcer(reporter: Reporter) -> Callable[[str], Callable[[str], None]]:
    def for_machine(name: str) -> Callable[[str], None]:
        return lambda line: reporter.line(name, line)

    return for_machine


def _record(
    session: Session, targets: dict[str, MachineTarget], results: dict[str, MachineResult]
) -> None:
    now = time.time()
    for name, t in targets.items():
        r = results[name]
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
        elif r.outcome == "reboot-required":  # activated; its kernel settings wait for a reboot
            attrs.update(status=r.outcome, toplevel=r.toplevel, generation=r.generation)
        elif r.outcome in ("failed", "rolled-back"):
            attrs["status"] = r.outcome
        session.state.update_machine(session.deployment, name, **attrs)
        session.state.log_deploy(session.deployment, name, now - r.seconds, r.outcome, r.toplevel)
