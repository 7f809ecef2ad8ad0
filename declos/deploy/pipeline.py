"""`declos deploy`: evaluate, build, then per machine copy → keys → activate → confirm →
health-check, bounded in parallel, keeping going when a machine fails.

A plan is a value (`DeployPlan`, printed by `--dry-run`); `run_deploy` executes it and
returns one `MachineResult` per machine. Exit codes (docs/deploy.md):
0 every selected machine is at its new configuration; 1 nothing was attempted (usage,
network file, evaluation, lock held); 2 some machine failed to build; 3 some machine
failed (unreachable, host key, copy, keys, activation); 4 some machine was rolled back
(no confirmation, failed health check) and none failed otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from declos.deploy import keys as keys_mod
from declos.deploy.activate import activate, reboot_needed, rollback
from declos.deploy.health import run_checks
from declos.deploy.reboot import reboot_and_wait, wait_for_boot_activation
from declos.deploy.report import Reporter
from declos.deploy.targets import MachineTarget
from declos.hosts.errors import HostError, HostKeyMismatch
from declos.store.errors import StoreError

EXIT_OK, EXIT_USAGE, EXIT_BUILD, EXIT_FAILED, EXIT_ROLLED_BACK = 0, 1, 2, 3, 4
OK_OUTCOMES = ("deployed", "unchanged", "built", "copied", "dry-activated", "boot-set")
PROFILE = "/declos/var/profiles/system"
REBOOT_MARK = "/run/declos/reboot-required"  # the agent's: why a reboot is still needed
# One round trip: the running closure, the profile's closure and link, pending
# confirmations, and a reboot still needed.
PROBE = (
    f"readlink /run/declos/current-system || echo; readlink -f {PROFILE} || echo; "
    f"readlink {PROFILE} || echo; ls /run/declos/deploy/*/canary 2>/dev/null | wc -l; "
    f"head -n 1 {REBOOT_MARK} 2>/dev/null || echo"
)


@dataclass(frozen=True)
class DeployOptions:
    action: str = "switch"  # switch | boot | test | dry-activate
    build_only: bool = False
    copy_only: bool = False
    max_concurrent_copy: int = 5
    max_concurrent_activate: int = 0  # 0: all at once
    confirm_timeout: int | None = None
    no_rollback: bool = False
    force_activate: bool = False
    allow_reboot: bool = False
    force_reboot: bool = False


@dataclass
class MachineResult:
    name: str
    outcome: str
    message: str = ""
    toplevel: str | None = None
    generation: str | None = None
    seconds: float = 0.0
    phase: str = ""
    reboot: str | None = None  # why the new closure needs a reboot to take effect
    deploy_id: str = ""  # the agent's id of this activation (/run/declos/deploy/ID)

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES


@dataclass
class DeployPlan:
    """What a deploy will do: the machines, where they are, what each gets."""

    deployment: str
    options: DeployOptions
    targets: dict[str, MachineTarget]
    toplevels: dict[str, str] = field(default_factory=dict)

    def describe(self) -> list[str]:
        lines = [
            f"deployment {self.deployment}: {self.options.action} on {len(self.targets)} machine(s)"
        ]
        for name, t in sorted(self.targets.items()):
            top = self.toplevels.get(name, "(not built)")
            lines.append(f"  {name}: {t.address} ({t.target_env}) <- {top}")
        return lines


def exit_code(results: Mapping[str, MachineResult]) -> int:
    outcomes = {r.outcome for r in results.values()}
    if "build-failed" in outcomes:
        return EXIT_BUILD
    if "failed" in outcomes or "reboot-required" in outcomes:
        return EXIT_FAILED
    if "rolled-back" in outcomes:
        return EXIT_ROLLED_BACK
    return EXIT_OK


class Deployer:
    """Runs a plan's machine jobs with bounded copy and activation concurrency."""

    def __init__(
        self,
        plan: DeployPlan,
        store: Any,
        connect: Any,
        reporter: Reporter,
        key_texts: Mapping[str, Mapping[str, str | None]],
        *,
        probe_only: bool = False,
    ) -> None:
        self.plan = plan
        self.probe_only = probe_only  # only find out which machines are unchanged
        self.store = store
        self.connect = connect  # MachineTarget -> Host
        self.reporter = reporter
        self.key_texts = key_texts
        o = plan.options
        self.copy_sem = threading.Semaphore(max(1, o.max_concurrent_copy))
        self.activate_sem: Any = (
            threading.Semaphore(o.max_concurrent_activate)
            if o.max_concurrent_activate > 0
            else nullcontext()
        )

    def run(self) -> dict[str, MachineResult]:
        names = sorted(self.plan.toplevels)
        workers = max(1, len(names))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="declos-deploy") as pool:
            results = list(pool.map(self.machine, names))
        return {r.name: r for r in results}

    def machine(self, name: str) -> MachineResult:
        t0 = time.monotonic()
        result = MachineResult(name, "failed", toplevel=self.plan.toplevels[name])
        host = None
        try:
            self.reporter.phase(name, "connecting")
            host = self.connect(self.plan.targets[name])
            self._steps(host, name, result)
        except HostKeyMismatch as exc:
            result.outcome = "failed"
            result.message = (
                f"{exc}; if the host was reinstalled, accept its new key with "
                f"`declos forget-host-key -d {self.plan.deployment} {name}` and deploy again"
            )
        except (HostError, StoreError, keys_mod.KeySourceError) as exc:
            # One machine's failure (unreachable, copy refused, a key source) is its own;
            # a probe-only pass leaves it to the full pipeline, which reports it.
            result.outcome, result.message = "failed", str(exc)
            if self.probe_only:
                result.outcome = "stale"
        finally:
            if host is not None:
                host.close()
        result.seconds = time.monotonic() - t0
        if result.outcome == "stale":
            return result  # the caller evaluates and deploys it; not finished yet
        if not result.phase:
            result.phase = self.reporter.machines[name].phase
        self.reporter.finish(name, result.ok, f"{result.outcome}: {result.message}".rstrip(": "))
        return result

    def _steps(self, host: Any, name: str, result: MachineResult) -> None:
        o = self.plan.options
        target = self.plan.targets[name]
        top = self.plan.toplevels[name]
        log = self._logger(name)
        running, profile_top, profile_link, pending, reboot = self._probe(host)
        if pending == "0" and self._unchanged(target, top, running, profile_top):
            result.outcome, result.message = "unchanged", f"already at {top}"
            if self.probe_only:
                result.message += " (inputs unchanged since the last deploy: not evaluated)"
            result.generation = profile_link
            if reboot and o.action == "switch":
                if self.probe_only and o.allow_reboot:
                    result.outcome = "stale"  # rebooting needs the full SSH host
                    return
                self._pending_reboot(host, name, top, reboot, result, log)
            return
        if self.probe_only:
            result.outcome = "stale"
            return
        self.reporter.phase(name, "copying")
        with self.copy_sem:
            stats = host.copy_closure_to(self.store, [top])
        log(
            f"copied {len(stats.sent)} paths ({stats.nar_bytes / 1e6:.1f} MB), "
            f"{stats.already_present} already present"
        )
        if o.copy_only:
            result.outcome, result.message = "copied", f"{len(stats.sent)} paths"
            return
        texts = self.key_texts.get(name, {})
        if o.action != "dry-activate" and target.keys:
            self.reporter.phase(name, "keys")
            keys_mod.upload(host, target.keys, texts, "pre-activation", log)
        self.reporter.phase(name, "activating")
        with self.activate_sem:
            self._activate(host, name, target, top, result, log)
        if result.outcome not in ("deployed", "boot-set"):
            return
        if self._wants_reboot(result):
            self.reporter.phase(name, "rebooting")
            if not self._reboot(host, top, result, log):
                return
            keys_mod.upload(host, target.keys, texts, "pre-activation", log)
        elif result.outcome == "boot-set":
            if result.reboot:
                result.message = f"takes effect at the next boot ({result.reboot})"
            return
        elif result.reboot and o.action == "switch":
            result.outcome = "reboot-required"
            result.message = self._reboot_advice(name, result.reboot, "activated")
            return
        elif result.reboot:
            result.message += f" (takes effect after a reboot: {result.reboot})"
        if target.keys:
            keys_mod.upload(host, target.keys, texts, "post-activation", log)
        self._health(host, name, target, result, log)
        if result.generation is None or o.force_reboot or o.action == "boot":
            result.generation = self._probe(host)[2]

    def _pending_reboot(
        self, host: Any, name: str, top: str, reason: str, result: MachineResult, log: Any
    ) -> None:
        """An unchanged machine whose last activation still waits for a reboot."""
        result.reboot = reason
        if not self.plan.options.allow_reboot:
            result.outcome = "reboot-required"
            result.message = self._reboot_advice(name, reason, "active")
            return
        self.reporter.phase(name, "rebooting")
        if self._reboot(host, top, result, log):
            result.outcome, result.message = "deployed", "already active; rebooted"

    def _reboot_advice(self, name: str, reason: str, what: str) -> str:
        return (
            f"{what}, but it takes effect only after a reboot ({reason}); deploy with "
            f"--allow-reboot, or `declos reboot -d {self.plan.deployment} --include {name}`"
        )

    def _wants_reboot(self, result: MachineResult) -> bool:
        o = self.plan.options
        if o.force_reboot:
            return True
        if not o.allow_reboot or o.action == "test":
            return False  # a reboot would leave a --test configuration behind
        return o.action == "boot" or result.reboot is not None

    def _reboot(self, host: Any, top: str, result: MachineResult, log: Any) -> bool:
        """Reboot, wait for a new boot id, and check the machine booted into TOP with its
        boot settings live; False (and `result` failed) otherwise."""
        if result.reboot:
            log(f"rebooting: {result.reboot}")
        if not reboot_and_wait(host, log):
            result.outcome, result.message = "failed", "did not come back after the reboot"
            return False
        running = wait_for_boot_activation(host, log)
        if running is None:
            result.outcome = "failed"
            result.message = "rebooted, but the boot-time activation did not finish"
            return False
        if self.plan.options.action != "test" and running != top:
            result.outcome = "failed"
            result.message = f"after the reboot the machine runs {running or 'no declos system'}"
            return False
        still = reboot_needed(host, top)
        if still:
            result.outcome = "failed"
            result.message = f"rebooted, but still: {still} (does it boot declos's GRUB entries?)"
            return False
        result.outcome, result.reboot = "deployed", None
        result.message = (result.message + "; rebooted").lstrip("; ")
        return True

    def _activate(
        self,
        host: Any,
        name: str,
        target: MachineTarget,
        top: str,
        result: MachineResult,
        log: Any,
    ) -> None:
        o = self.plan.options
        if o.action in ("dry-activate", "boot"):
            outcome = host.activate(top, o.action)
            for line in outcome.lines:
                log(line)
            ok = outcome.exit_code == 0
            result.outcome = (
                ("dry-activated" if o.action == "dry-activate" else "boot-set") if ok else "failed"
            )
            result.message = "" if ok else f"activation exited with {outcome.exit_code}"
            if ok and o.action == "boot":
                result.reboot = reboot_needed(host, top)
            return
        magic = target.magic_rollback and not o.no_rollback
        timeout = o.confirm_timeout if o.confirm_timeout is not None else target.confirm_timeout
        done = activate(
            host,
            top,
            o.action,
            magic=magic,
            confirm_timeout=timeout,
            activation_timeout=target.activation_timeout,
            log=log,
        )
        result.message = done.message
        result.outcome = "deployed" if done.ok else done.outcome
        result.generation = done.generation
        result.deploy_id = done.ident
        result.reboot = done.reboot
        if done.ok and done.exit_code not in (0, None):
            result.outcome = "failed"
            result.message = f"activation exited with {done.exit_code}"

    def _health(
        self, host: Any, name: str, target: MachineTarget, result: MachineResult, log: Any
    ) -> None:
        if not target.health_checks:
            return
        self.reporter.phase(name, "health checks")
        problem = run_checks(host, target.health_checks, log)
        if problem is None:
            return
        ident = result.deploy_id
        log(problem)
        if self.plan.options.no_rollback:
            result.outcome, result.message = "failed", problem
            return
        report = rollback(host, ident, self.plan.options.action, problem)
        result.outcome, result.message = "rolled-back", report or problem

    def _probe(self, host: Any) -> tuple[str, str, str, str, str]:
        out = host.run(["sh", "-c", PROBE], timeout=60, check=False)
        lines = [x.strip() for x in out.stdout.decode(errors="replace").splitlines()]
        lines += [""] * 5
        return lines[0], lines[1], lines[2], lines[3] or "0", lines[4]

    def _unchanged(self, target: MachineTarget, top: str, running: str, profile: str) -> bool:
        o = self.plan.options
        if o.force_activate or target.always_activate or o.copy_only:
            return False
        if o.action == "switch":
            return running == top and profile == top
        if o.action == "test":
            return running == top
        if o.action == "boot":
            return profile == top
        return False

    def _logger(self, name: str) -> Any:
        def log(line: str) -> None:
            self.reporter.line(name, line)

        return log
