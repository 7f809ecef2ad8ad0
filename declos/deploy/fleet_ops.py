"""Fleet commands besides deploy: check, ssh-for-each, generations, reboot, send-keys.

Each runs one function per selected machine (in parallel unless asked otherwise) over
that machine's SSH host and collects a `MachineReport`; a failing machine never stops
the others. Output lines go through the same Reporter as deploy (`name> line`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from declos.deploy import keys as keys_mod
from declos.deploy.activate import activate
from declos.deploy.backends import not_running
from declos.deploy.fleet import connect
from declos.deploy.reboot import reboot_and_wait
from declos.deploy.report import Reporter
from declos.deploy.session import Session
from declos.deploy.targets import MachineTarget
from declos.hosts.errors import HostError
from declos.store.errors import StoreError

PROFILE = "/declos/var/profiles/system"


@dataclass
class MachineReport:
    name: str
    ok: bool
    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


Action = Callable[[Any, MachineTarget, Callable[[str], None]], MachineReport]


def for_each(
    session: Session,
    names: Sequence[str],
    action: Action,
    reporter: Reporter,
    *,
    parallel: bool = True,
) -> dict[str, MachineReport]:
    targets = session.targets(names)
    recorded = session.state.machines(session.deployment)

    def one(name: str) -> MachineReport:
        def log(line: str) -> None:
            reporter.line(name, line)

        down = not_running(targets[name], recorded.get(name, {}), session.deployment.name)
        if down is not None:
            log(down)
            return MachineReport(name, False, [down])
        host = None
        try:
            host = connect(session, targets[name], log)
            report = action(host, targets[name], log)
        except (HostError, StoreError, keys_mod.KeySourceError) as exc:
            report = MachineReport(name, False, [str(exc)])
            log(str(exc))
        finally:
            if host is not None:
                host.close()
        return report

    workers = len(names) if parallel else 1
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return {r.name: r for r in pool.map(one, names)}


def check(expected: dict[str, str | None]) -> Action:
    """Reachable (load average), failed units, failed mounts, closure matches the state."""

    def act(host: Any, t: MachineTarget, log: Callable[[str], None]) -> MachineReport:
        load = host.run(["cat", "/proc/loadavg"], timeout=20).text.split()[:3]
        failed = host.run(
            ["systemctl", "list-units", "--failed", "--no-legend", "--plain", "--all"],
            timeout=20,
            check=False,
        ).text
        units = [line.split()[0] for line in failed.splitlines() if line.strip()]
        running = host.run(["readlink", "/run/declos/current-system"], check=False).text.strip()
        want = expected.get(t.name)
        problems = []
        mounts = [u for u in units if u.endswith(".mount")]
        others = [u for u in units if not u.endswith(".mount")]
        if others:
            problems.append(f"failed units: {', '.join(others)}")
        if mounts:
            problems.append(f"failed mounts: {', '.join(mounts)}")
        if want and running != want:
            problems.append(f"runs {running or 'no declos system'}, deployed {want}")
        log(f"up, load {' '.join(load)}; " + ("; ".join(problems) if problems else "OK"))
        return MachineReport(
            t.name,
            not problems,
            data={"load": load, "failedUnits": others, "failedMounts": mounts, "running": running},
        )

    return act


def run_command(argv: Sequence[str]) -> Action:
    def act(host: Any, t: MachineTarget, log: Callable[[str], None]) -> MachineReport:
        r = host.run(list(argv), check=False, timeout=3600)
        for line in (r.stdout + r.stderr).decode(errors="replace").splitlines():
            log(line)
        return MachineReport(t.name, r.returncode == 0, data={"exit": r.returncode})

    return act


def generations(extra: Sequence[str] = ()) -> Action:
    """The target's own generations table (its current activator's `generations`)."""

    def act(host: Any, t: MachineTarget, log: Callable[[str], None]) -> MachineReport:
        script = f'top=$(readlink -f {PROFILE}) || exit 3; exec "$top/activate" generations "$@"'
        r = host.run(["sh", "-c", script, "sh", *extra], check=False)
        for line in (r.stdout + r.stderr).decode(errors="replace").splitlines():
            log(line)
        return MachineReport(t.name, r.returncode == 0)

    return act


def generation_top(host: Any, n: int) -> str | None:
    """The closure of generation N on the host (None when it has no such generation)."""
    r = host.run(["readlink", "-e", f"{PROFILE}-{n}-link"], check=False)
    return r.text.strip() if r.returncode == 0 else None


def rollback_to(n: int) -> Action:
    """NixOps' `rollback N`: switch each machine to its generation N (as a new generation,
    like `nix-env --set`), with the same confirmation and magic rollback as deploy."""

    def act(host: Any, t: MachineTarget, log: Callable[[str], None]) -> MachineReport:
        top = generation_top(host, n)
        if top is None:
            log(f"error: generation {n} does not exist")
            return MachineReport(t.name, False)
        log(f"switching to generation {n} ({top})")
        done = activate(
            host,
            top,
            "switch",
            magic=t.magic_rollback,
            confirm_timeout=t.confirm_timeout,
            activation_timeout=t.activation_timeout,
            log=log,
        )
        log(f"{done.outcome}: {done.message}")
        return MachineReport(t.name, done.ok, data={"outcome": done.outcome})

    return act


def send_keys(texts: dict[str, dict[str, str | None]]) -> Action:
    def act(host: Any, t: MachineTarget, log: Callable[[str], None]) -> MachineReport:
        sent = 0
        for when in ("pre-activation", "post-activation"):
            sent += keys_mod.upload(host, t.keys, texts.get(t.name, {}), when, log)
        return MachineReport(t.name, True, data={"sent": sent})

    return act


def reboot(wait: bool, timeout: float = 300.0) -> Action:
    """`systemctl reboot`, then wait until the boot id changed and SSH answers again."""

    def act(host: Any, t: MachineTarget, log: Callable[[str], None]) -> MachineReport:
        return MachineReport(t.name, reboot_and_wait(host, log, wait=wait, timeout=timeout))

    return act
