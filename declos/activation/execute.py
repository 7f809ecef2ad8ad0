"""Carrying out an ActivationPlan in switch-to-configuration's order: stop units,
activate files/users/firewall, daemon-reload, reload, restart, start, then commit the
generation. Journaled (STATE/activation/journal.json) so a run killed at any point can be
repeated: the next run sees the journal, finishes the owed unit starts and says so.

Exit codes are NixOS's: 0 ok, 2 an activation step failed, 4 units failed; usage,
refusal and lock errors (1) are decided before this runs. A failing step is reported
and the remaining steps still run (as NixOS), but the profile does not move to a
generation whose activation failed.
"""

from __future__ import annotations

import os
import time

from declos.activation import bootloader, faults, firewall, mounts, steps
from declos.activation.accounts_db import AccountDb
from declos.activation.errors import (
    BootloaderError,
    EtcConflict,
    FirewallError,
    MountError,
    UsersError,
)
from declos.activation.etc_files import EtcManager
from declos.activation.paths import SYSTEM_PROFILE, Host
from declos.activation.plan import ActivationPlan, FirewallChange, say
from declos.activation.state import ActivationState
from declos.activation.systemd_dbus import Systemd
from declos.activation.users import UsersStep
from declos.common.profiles import Profiles
from declos.common.safepath import PathEscape

OK, STEP_FAILED, UNITS_FAILED = 0, 2, 4
ACTIVE_STATES = ("active", "activating", "reloading")


def _units_line(prefix: str, units: set[str] | frozenset[str]) -> None:
    if units:
        say(f"{prefix}: {', '.join(sorted(units))}")


class Execution:
    """One run of a plan on a host; `run()` returns the exit code."""

    def __init__(
        self,
        host: Host,
        plan: ActivationPlan,
        systemd: Systemd | None,
        *,
        generation: int | None = None,
        wait_jobs: bool = True,
    ) -> None:
        self.host = host
        self.plan = plan
        self.sd = systemd
        self.generation = generation
        self.wait_jobs = wait_jobs
        self.state = ActivationState(host)
        self.profiles = Profiles(host.profiles, host.locks)
        self.rc = OK
        self.step_failed = False
        self._job_failures: dict[str, str] = {}

    def _fail(self, what: str, message: str) -> None:
        say(f"error: {what}: {message}")
        self.step_failed = True
        if self.rc == OK:
            self.rc = STEP_FAILED

    def run(self) -> int:
        plan = self.plan
        for line in plan.warnings:
            say(line)
        for step, message in plan.problems:
            self._fail(step, message)
        if plan.interrupted is not None:
            say(
                f"warning: the previous activation of {plan.interrupted} was interrupted; finishing it"
            )
        if plan.unchanged:
            return self._run_unchanged()
        units = plan.units
        self.state.write_journal(
            {
                "action": plan.action,
                "system": plan.system.top,
                "old": plan.old_top,
                "time": int(time.time()),
                "start": sorted(plan.resume | units.start | units.start_new),
            }
        )
        faults.point("journal")
        if self.sd is not None and units.stop:
            _units_line("stopping the following units", units.stop)
            self._jobs("StopUnit", units.stop)
        _units_line("NOT restarting the following changed units", units.skip)
        say("activating the configuration...")
        self._activate()
        if self.sd is not None:
            self._systemd_phase(self.sd)
        faults.point("finish")
        self._commit()
        self.state.clear_journal()
        return self.rc

    def _run_unchanged(self) -> int:
        """The closure is active already: only the firewall table may need reloading
        (always so at boot: rules do not survive a reboot)."""
        for line in self.plan.users.lines:
            say(line)
        if self.plan.firewall is not FirewallChange.NONE:
            self._firewall()
        else:
            say(f"no changes: {self.plan.system.top} is already active")
        self._commit()
        return self.rc

    def _commit(self) -> None:
        if not self.plan.unchanged:
            self.state.set_active_system(self.plan.system.top)
        steps.link_current_system(self.host, self.plan.system.top)
        if self.plan.action == "switch":
            self._finish_switch()

    def _activate(self) -> None:
        """Users, /etc, host name, formatting, firewall, tmpfiles, activation scripts."""
        host, system = self.host, self.plan.system
        faults.point("users")
        try:
            db = self._users()
        except (UsersError, OSError, PathEscape) as exc:
            self._fail("users", str(exc))
            db = AccountDb.read(host.etc)
        try:
            if self.plan.etc.touched or self.plan.etc.static_changes:
                say("setting up /etc...")
            EtcManager(host, host.activation_state / "etc-manifest.json").apply(self.plan.etc, db)
        except (OSError, UsersError, EtcConflict, PathEscape) as exc:
            self._fail("/etc", str(exc))
        if self.plan.set_kernel_hostname:
            try:
                steps.set_hostname(system.hostname)
            except OSError as exc:
                self._fail("hostname", str(exc))
        for fs in self.plan.to_format:
            try:
                say(mounts.format_device(fs))
            except MountError as exc:
                self._fail("fileSystems", str(exc))
        if self.plan.firewall is not FirewallChange.NONE:
            self._firewall()
        if host.live or os.geteuid() == 0:
            err = steps.run_tmpfiles(host, system)
            if err:
                self._fail("tmpfiles", err)
        for failure in steps.run_activation_scripts(host, system, self.plan.action):
            self._fail("activation script", failure)

    def _users(self) -> AccountDb:
        spec = self.plan.system.spec
        applied = UsersStep(self.host).apply(spec.users, spec.groups)
        for line in applied.lines:
            say(line)
        return applied.after

    def _firewall(self) -> None:
        ruleset = self.plan.system.firewall_file(self.host)
        try:
            line = firewall.apply(ruleset)
        except FirewallError as exc:
            self._fail("firewall", str(exc))
            return
        if line:
            say(line)

    def _systemd_phase(self, sd: Systemd) -> None:
        say("reloading systemd...")
        sd.daemon_reload()
        sd.reset_failed()
        units = self.plan.units
        state = sd.list_units()
        reload = {u for u in units.reload if state.get(u) in ("active", "reloading")}
        start = units.start | (units.reload - reload)
        _units_line("reloading the following units", reload)
        self._jobs("ReloadUnit", reload)
        _units_line("restarting the following units", units.restart)
        self._jobs("RestartUnit", units.restart)
        _units_line("starting the following units", start)
        self._jobs("StartUnit", start | units.start_silent | units.start_new)
        self._report(sd, start)

    def _jobs(self, method: str, units: set[str]) -> None:
        if not units or self.sd is None:
            return
        if not self.wait_jobs:
            for u in sorted(units):
                self.sd.submit(method, u)
            return
        for u, result in self.sd.run_jobs(method, sorted(units)).items():
            if result != "done":
                self._job_failures[u] = f"{method[:-4].lower()} {u}: {result}"

    def _report(self, sd: Systemd, started: set[str]) -> None:
        """New units systemd started by itself, and failed units with their journal."""
        if not self.wait_jobs:
            return
        sd.settle()
        after = sd.list_units()
        before = self.plan.units_before
        new = {
            u
            for u, s in after.items()
            if s in ACTIVE_STATES
            and before.get(u) not in ACTIVE_STATES
            and not u.endswith(".scope")
            and u not in started
            and u not in self.plan.units.restart
        }
        _units_line("the following new units were started", new)
        failed = {u for u, s in after.items() if s == "failed"}
        for _u, msg in sorted(self._job_failures.items()):
            say(f"Failed to {msg}")
        failed |= set(self._job_failures)
        if failed:
            _units_line("warning: the following units failed", failed)
            for u in sorted(failed):
                say(steps.failure_report(u))
            self.rc = UNITS_FAILED

    def _finish_switch(self) -> None:
        """New generation, boot menu (not in a container), then the profile link, last."""
        n = self.generation
        if n is None:
            n, _ = self.profiles.add(SYSTEM_PROFILE, self.plan.system.top)
        if not self.plan.system.is_container:
            try:
                line = bootloader.install(self.host, self.profiles, n, self.plan.system.boot.grub)
            except (BootloaderError, OSError, PathEscape) as exc:
                self._fail("bootloader", str(exc))
            else:
                if line:
                    say(line)
        if not self.step_failed and self.profiles.current_number(SYSTEM_PROFILE) != n:
            self.profiles.set_current(SYSTEM_PROFILE, n)
