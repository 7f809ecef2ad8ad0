"""Machines declos creates: the backends of `deployment.targetEnv` other than `none`.

The pipeline calls three things here (docs/backends.md):
- `placed(target, attrs)`: a machine's `MachineTarget` with the address the backend
  recorded (127.0.0.1, the forwarded port, the generated deployer key);
- `Creator`: as each machine is evaluated, create/start its backend machine in a thread
  (beside the builds); its deploy waits for it before connecting, and a failure is that
  machine's own (`CreationFailed`, a HostError: the machine is `failed`);
- `live_status(...)`: the hypervisor's view of a machine for `info` and `check`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from declos.deploy.backends.base import Backend, BackendError, MachineContext, Placement
from declos.deploy.backends.libvirt import LibvirtBackend
from declos.deploy.backends.virtualbox import VirtualBoxBackend
from declos.deploy.state import Deployment, State
from declos.deploy.targets import MachineTarget
from declos.hosts import HostError

__all__ = [
    "Backend",
    "BackendError",
    "MachineContext",
    "Placement",
    "backend_for",
    "Creator",
    "CreationFailed",
    "live_status",
    "not_running",
    "placed",
]

BACKENDS: dict[str, Backend] = {b.target_env: b for b in (LibvirtBackend(), VirtualBoxBackend())}


def backend_for(target_env: str) -> Backend | None:
    """The backend of a `targetEnv` (None for `none`: an existing host)."""
    if target_env == "none":
        return None
    backend = BACKENDS.get(target_env)
    if backend is None:
        raise BackendError(
            f"targetEnv {target_env!r} has no backend in this declos "
            f"(known: none, {', '.join(sorted(BACKENDS))})"
        )
    return backend


def placed(target: MachineTarget, attrs: Mapping[str, Any]) -> MachineTarget:
    """`target` at the address its backend recorded (unchanged for `none` or when the
    machine was not created yet)."""
    backend = BACKENDS.get(target.target_env)
    where = backend.placement(attrs) if backend is not None else None
    if where is None:
        return target
    return dataclasses.replace(target, host=where.host, port=where.port, key_file=where.key_file)


def live_status(target_env: str, attrs: Mapping[str, Any]) -> str | None:
    """The hypervisor's state of a backend machine ('running', 'shut off', 'missing', ...)."""
    backend = BACKENDS.get(target_env)
    if backend is None:
        return None
    try:
        return backend.status(attrs)
    except BackendError as exc:
        return f"unknown ({exc})"


class CreationFailed(HostError):
    """A backend machine could not be created or started: to the pipeline, that machine
    is unreachable (its own failure; the others go on)."""


class Creator:
    """Backend machines brought up beside the builds: one future per machine, submitted
    as soon as the machine is evaluated, awaited when its deploy wants to connect."""

    def __init__(
        self, state: State, deployment: Deployment, log: Callable[[str, str], None]
    ) -> None:
        self.state = state
        self.deployment = deployment
        self.log = log
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="declos-create")
        self._futures: dict[str, Future[Placement]] = {}

    def submit(self, target: MachineTarget, values: Mapping[str, Any]) -> None:
        """Start creating/starting `target`'s machine (nothing for targetEnv none)."""
        backend = backend_for(target.target_env)
        if backend is None:
            return
        name = target.name
        ctx = MachineContext(
            self.state, self.deployment, name, values, lambda line: self.log(name, line)
        )
        self._futures[name] = self._pool.submit(backend.ensure_up, ctx)

    def place(self, target: MachineTarget) -> MachineTarget:
        """`target` at its machine's address once it answers SSH; CreationFailed if not."""
        future = self._futures.get(target.name)
        if future is None:
            return target
        try:
            where = future.result()
        except BackendError as exc:
            raise CreationFailed(str(exc)) from None
        return dataclasses.replace(
            target, host=where.host, port=where.port, key_file=where.key_file
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def not_running(target: MachineTarget, attrs: Mapping[str, Any], deployment: str) -> str | None:
    """Why a backend machine cannot be reached (deleted behind declos's back, shut off,
    never created), or None when it runs (or is an existing host)."""
    backend = BACKENDS.get(target.target_env)
    if backend is None:
        return None
    state = live_status(target.target_env, attrs)
    if state == "running":
        return None
    if state == "not created":
        return f"not created yet; `declos deploy -d {deployment}` creates it"
    if state == "missing":
        return (
            f"its {target.target_env} VM is missing (deleted outside declos); "
            f"`declos deploy -d {deployment}` creates it anew"
        )
    return f"its {target.target_env} VM is {state}; `declos start -d {deployment}` starts it"
