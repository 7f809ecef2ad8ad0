"""`declos start`, `stop`, `destroy`: one backend call per selected machine.

Machines with `targetEnv: none` are existing hosts: declos never powers them on or off,
and never destroys them; they are reported as skipped. The machines run one after
another (stopping or destroying many VMs at once on a small host helps nobody).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from declos.deploy.backends import BackendError, MachineContext, backend_for
from declos.deploy.backends.base import Backend
from declos.deploy.lock import deployment_lock
from declos.deploy.session import Session


@dataclass(frozen=True)
class LifecycleResult:
    machine: str
    ok: bool
    message: str
    skipped: bool = False


Operation = Callable[[Backend, MachineContext], str]


def run_lifecycle(
    session: Session,
    names: Sequence[str],
    verb: str,
    operation: Operation,
    log: Callable[[str, str], None],
) -> list[LifecycleResult]:
    """Apply `operation` to each backend machine of `names`, under the deployment's lock
    (a deploy cannot race a destroy of the same machine)."""
    results = []
    with deployment_lock(session.state, session.deployment, f"declos {verb}"):
        values = session.deployment_values(names)
        for name in names:
            env = str(values[name].get("targetEnv", "none"))
            try:
                backend = backend_for(env)
            except BackendError as exc:
                results.append(LifecycleResult(name, False, str(exc)))
                continue
            if backend is None:
                results.append(
                    LifecycleResult(
                        name,
                        True,
                        f"skipped: declos does not {verb} an existing host (targetEnv none)",
                        True,
                    )
                )
                continue
            ctx = MachineContext(
                session.state,
                session.deployment,
                name,
                values[name],
                lambda line, n=name: log(n, line),  # type: ignore[misc]
            )
            try:
                results.append(LifecycleResult(name, True, operation(backend, ctx)))
            except BackendError as exc:
                results.append(LifecycleResult(name, False, str(exc)))
    return results
