"""One activation of a system closure on a host: plan everything, then change it in
switch-to-configuration's order (stop, activate files/users/firewall, daemon-reload,
reload, restart, start), journaled so a run killed at any point can be repeated.

Exit codes are NixOS's: 0 ok, 2 an activation step failed, 4 units failed; usage and
lock errors (1) are decided by the caller before this runs.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from declos.activation import bootloader, faults, firewall, mounts, steps
from declos.activation.closure import ClosureError, System, load
from declos.activation.etc_files import EtcConflict, EtcManager
from declos.activation.etc_wants import wants_for
from declos.activation.paths import SYSTEM_PROFILE, Host
from declos.activation.state import ActivationState
from declos.activation.unit_plan import Planner, UnitPlan
from declos.activation.users import UsersManager
from declos.common.profiles import Profiles

OK, STEP_FAILED, UNITS_FAILED = 0, 2, 4


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _units_line(prefix: str, units: set[str]) -> None:
    if units:
        say(f"{prefix}: {', '.join(sorted(units))}")


class Activation:
    """Activates `system` on `host` for one action (switch, test, dry-activate, boot-time)."""

    def __init__(
        self,
        host: Host,
        system: System,
        action: str,
        generation: int | None = None,
        wait_jobs: bool = True,
    ) -> None:
        self.host = host
        self.system = system
        self.action = action
        self.dry = action == "dry-activate"
        self.generation = generation
        self.wait_jobs = wait_jobs
        self.state = ActivationState(host)
        self.profiles = Profiles(host.profiles)
        self.etc = EtcManager(host, host.activation_state / "etc-manifest.json")
        self.users = UsersManager(host)
        self.rc = OK
        self.step_failed = False
        self.sd: Any = None
        self._job_failures: dict[str, str] = {}

    def _old(self) -> System | None:
        top = self.state.active_system()
        if not top:
            return None
        try:
            return load(self.host, top)
        except ClosureError as exc:
            say(
                f"warning: the previously active system cannot be read ({exc}); treating all units as new"
            )
            return None

    def _fail(self, what: str, exc: BaseException | str) -> None:
        say(f"error: {what}: {exc}")
        self.step_failed = True
        if self.rc == OK:
            self.rc = STEP_FAILED

    def run(self) -> int:
        host, system = self.host, self.system
        old = self._old()
        journal = self.state.journal()
        resume: set[str] = set()
        if journal and not self.dry:
            say(
                f"warning: the previous activation of {journal.get('system')} was interrupted; finishing it"
            )
            resume = set(journal.get("start", []))

        etc_plan = self.etc.plan(system.top, wants_for(host, system))
        try:
            self.etc.check(etc_plan)
        except EtcConflict as exc:
            for line in str(exc).splitlines():
                say(f"error: {line}")
            return STEP_FAILED
        try:
            user_lines, _ = self.users.apply(system.users, system.groups, dry=True)
        except (KeyError, RuntimeError) as exc:
            say(f"error: users: {exc}")
            return STEP_FAILED

        unit_plan = UnitPlan()
        before: dict[str, str] = {}
        if host.live:
            from declos.activation.systemd_dbus import Systemd

            try:
                self.sd = Systemd()
            except (OSError, ValueError) as exc:
                say(f"error: cannot talk to systemd over the system D-Bus: {exc}")
                return STEP_FAILED
            before = self.sd.list_units()
            unit_plan = Planner(
                old.units_dir(host) if old else None, system.units_dir(host), before
            ).plan(resume)
        fw_file = system.firewall_file(host)
        fw_changed = False
        to_format: list[Any] = []
        if host.live:
            old_fw = old.firewall_file(host) if old else None
            fw_changed = (
                fw_file is not None
                and (
                    old_fw is None
                    or not old_fw.exists()
                    or old_fw.read_bytes() != fw_file.read_bytes()
                    or not firewall.table_present()
                )
            ) or (fw_file is None and firewall.table_present())
            try:
                to_format = mounts.to_format(system.file_systems)
            except mounts.MountError as exc:
                self._fail("fileSystems", exc)

        if self.dry:
            return self._print_dry(etc_plan, user_lines, unit_plan, fw_changed, to_format, old)

        unchanged = (
            old is not None
            and old.top == system.top
            and not etc_plan.touched
            and not etc_plan.static_changes
            and unit_plan.empty()
            and not [line for line in user_lines if not line.startswith("warning:")]
            and not to_format
            and not journal
        )
        if unchanged and self.action in ("switch", "test", "boot-time"):
            for line in user_lines:
                say(line)
            if fw_changed:
                # only the nftables table is missing or differs (always so at boot: rules
                # do not survive a reboot): reload it, no daemon-reload needed
                self._firewall(fw_file)
            else:
                say(f"no changes: {system.top} is already active")
            steps.link_current_system(host, system.top)
            if self.action == "switch":
                self._finish_switch()
            return self.rc

        self.state.write_journal(
            {
                "action": self.action,
                "system": system.top,
                "old": old.top if old else None,
                "time": int(time.time()),
                "start": sorted(resume | unit_plan.start | unit_plan.start_new),
            }
        )
        faults.point("journal")
        if self.sd and unit_plan.stop:
            _units_line("stopping the following units", unit_plan.stop)
            self._jobs("StopUnit", unit_plan.stop)
        _units_line("NOT restarting the following changed units", unit_plan.skip)

        say("activating the configuration...")
        self._activate(etc_plan, to_format, fw_file, fw_changed)

        if self.sd:
            say("reloading systemd...")
            self.sd.daemon_reload()
            self.sd.reset_failed()
            reload = {
                u
                for u in unit_plan.reload
                if self.sd.list_units().get(u) in ("active", "reloading")
            }
            unit_plan.start |= unit_plan.reload - reload
            _units_line("reloading the following units", reload)
            self._jobs("ReloadUnit", reload)
            _units_line("restarting the following units", unit_plan.restart)
            self._jobs("RestartUnit", unit_plan.restart)
            _units_line("starting the following units", unit_plan.start)
            self._jobs("StartUnit", unit_plan.start | unit_plan.start_silent | unit_plan.start_new)
            self._report(before, unit_plan)

        faults.point("finish")
        self.state.set_active_system(system.top)
        steps.link_current_system(host, system.top)
        if self.action == "switch":
            self._finish_switch()
        self.state.clear_journal()
        return self.rc

    def _jobs(self, method: str, units: set[str]) -> None:
        if not units:
            return
        if not self.wait_jobs:
            for u in sorted(units):
                self.sd.submit(method, u)
            return
        results = self.sd.run_jobs(method, sorted(units))
        for u, r in results.items():
            if r != "done":
                self._job_failures[u] = f"{method[:-4].lower()} {u}: {r}"

    def _activate(
        self, etc_plan: Any, to_format: list[Any], fw_file: Any, fw_changed: bool
    ) -> None:
        host, system = self.host, self.system
        try:
            faults.point("users")
            lines, db = self.users.apply(system.users, system.groups, dry=False)
            for line in lines:
                say(line)
        except (KeyError, RuntimeError, OSError) as exc:
            self._fail("users", exc)
            from declos.activation.accounts_db import AccountDb

            db = AccountDb(host.etc)
        try:
            if etc_plan.touched or etc_plan.static_changes:
                say("setting up /etc...")
            self.etc.apply(etc_plan, db)
        except (OSError, KeyError, EtcConflict) as exc:
            self._fail("/etc", exc)
        try:
            steps.set_hostname(host, system.hostname)
        except OSError as exc:
            self._fail("hostname", exc)
        for fs in to_format:
            try:
                say(mounts.format_device(fs))
            except mounts.MountError as exc:
                self._fail("fileSystems", exc)
        if fw_changed:
            self._firewall(fw_file)
        err = steps.run_tmpfiles(host, system) if (host.live or os.geteuid() == 0) else None
        if err:
            self._fail("tmpfiles", err)
        for failure in steps.run_activation_scripts(host, system, self.action):
            self._fail("activation script", failure)

    def _firewall(self, fw_file: Any) -> None:
        try:
            line = firewall.apply(fw_file, had_table=True)
            if line:
                say(line)
        except firewall.FirewallError as exc:
            self._fail("firewall", exc)

    def _report(self, before: dict[str, str], plan: UnitPlan) -> None:
        if not self.wait_jobs:
            return
        self.sd.settle()
        after = self.sd.list_units()
        active_states = ("active", "activating", "reloading")
        new = {
            u
            for u, s in after.items()
            if s in active_states
            and before.get(u) not in active_states
            and not u.endswith(".scope")
            and u not in plan.start
            and u not in plan.restart
        }
        _units_line("the following new units were started", new)
        failed = {u for u, s in after.items() if s == "failed"}
        failures = self._job_failures
        for _u, msg in sorted(failures.items()):
            say(f"Failed to {msg}")
        failed |= set(failures)
        if failed:
            _units_line("warning: the following units failed", failed)
            for u in sorted(failed):
                say(steps.failure_report(u))
            self.rc = UNITS_FAILED

    def _finish_switch(self) -> None:
        n = self.generation
        if n is None:
            n, _ = self.profiles.add(SYSTEM_PROFILE, self.system.top)
        try:
            line = bootloader.install(
                self.host, self.profiles, n, self.system.boot.get("grub") or {}
            )
            if line:
                say(line)
        except (bootloader.BootloaderError, OSError) as exc:
            self._fail("bootloader", exc)
        if not self.step_failed and self.profiles.current_number(SYSTEM_PROFILE) != n:
            self.profiles.set_current(SYSTEM_PROFILE, n)

    def _print_dry(
        self,
        etc_plan: Any,
        user_lines: list[str],
        plan: UnitPlan,
        fw_changed: bool,
        to_format: list[Any],
        old: System | None,
    ) -> int:
        lines = []
        for line in user_lines:
            lines.append(line if line.startswith("warning:") else "would " + line)
        lines += ["would " + line for line in etc_plan.describe()]
        if plan.stop:
            lines.append(f"would stop the following units: {', '.join(sorted(plan.stop))}")
        if plan.skip:
            lines.append(
                f"would NOT restart the following changed units: {', '.join(sorted(plan.skip))}"
            )
        if plan.reload:
            lines.append(f"would reload the following units: {', '.join(sorted(plan.reload))}")
        if plan.restart:
            lines.append(f"would restart the following units: {', '.join(sorted(plan.restart))}")
        if plan.start | plan.start_new:
            lines.append(
                f"would start the following units: {', '.join(sorted(plan.start | plan.start_new))}"
            )
        for fs in to_format:
            lines.append(f"would format {fs.device} as {fs.fs_type} for {fs.mount_point}")
        if fw_changed:
            lines.append(
                "would replace firewall table inet declos-fw"
                if self.system.has_firewall
                else "would remove firewall table inet declos-fw"
            )
        if old is None or old.top != self.system.top:
            lines.append(f"would activate {self.system.top}")
        if not lines:
            say(f"no changes: {self.system.top} is already active")
        for line in lines:
            say(line)
        return self.rc
