"""Activation plans, then executes: `plan_activation` computes an `ActivationPlan`, a value
that `dry-activate` prints (`describe`) and `switch`/`test`/`boot-time` carry out
(`declos.activation.execute`). Both read the same value, so what dry-activate says is
what switch does.

Planning only reads: the old and new closures, the recorded state, /etc, the account
databases, systemd's unit states and the firewall table. Anything that would make the
activation unsafe (an /etc file declos does not own, a duplicate uid, activation scripts
that cannot run chrooted into a --root tree, an enabled firewall without `nft`) is
raised here, before the host is touched.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from declos.activation import firewall, mounts
from declos.activation.closure import FileSystem, System, load
from declos.activation.errors import ClosureError, MountError, RefusedError
from declos.activation.etc_files import EtcManager, EtcPlan
from declos.activation.etc_wants import wants_for
from declos.activation.host_requires import requires_refusal
from declos.activation.paths import Host
from declos.activation.state import ActivationState
from declos.activation.steps import scripts_refusal
from declos.activation.systemd_dbus import Systemd
from declos.activation.unit_plan import Planner, UnitPlan
from declos.activation.users import UsersPlan, UsersStep

ACTIONS_THAT_RUN = ("switch", "test", "boot-time")


def say(line: str) -> None:
    """Activation's output goes to stderr, line by line, as switch-to-configuration's."""
    print(line, file=sys.stderr, flush=True)


class FirewallChange(enum.Enum):
    NONE = "none"
    LOAD = "load"  # nft -f firewall.nft (new or changed ruleset, or table missing)
    REMOVE = "remove"  # the new closure has no firewall but the table is loaded


@dataclass(frozen=True)
class ActivationPlan:
    """Everything one activation will do, decided before the first change."""

    action: str
    system: System
    old_top: str | None
    interrupted: str | None  # the system of a journal left by a killed run
    resume: frozenset[str]  # unit starts that killed run still owed
    etc: EtcPlan
    users: UsersPlan
    units: UnitPlan
    units_before: Mapping[str, str]  # unit -> ActiveState when planning
    firewall: FirewallChange
    to_format: tuple[FileSystem, ...]
    set_kernel_hostname: bool
    warnings: tuple[str, ...] = ()
    problems: tuple[tuple[str, str], ...] = field(default=())  # (step, message): exit 2

    @property
    def unchanged(self) -> bool:
        """Nothing but (maybe) the firewall table to do: the closure is already active."""
        return (
            self.old_top == self.system.top
            and not self.etc.touched
            and not self.etc.static_changes
            and self.units.empty()
            and not self.users.changes
            and not self.to_format
            and self.interrupted is None
        )

    def describe(self) -> list[str]:
        """What dry-activate prints: the plan, one line per change."""
        lines = list(self.warnings)
        lines += [f"error: {step}: {msg}" for step, msg in self.problems]
        body = [
            line if line.startswith("warning:") else "would " + line for line in self.users.lines
        ]
        body += ["would " + line for line in self.etc.describe()]
        u = self.units
        for verb, units in (
            ("stop", u.stop),
            ("NOT restart", u.skip),
            ("reload", u.reload),
            ("restart", u.restart),
            ("start", u.start | u.start_new),
        ):
            if units:
                body.append(f"would {verb} the following units: {', '.join(sorted(units))}")
        for fs in self.to_format:
            body.append(f"would format {fs.device} as {fs.fs_type} for {fs.mount_point}")
        if self.firewall is FirewallChange.LOAD:
            body.append("would replace firewall table inet declos-fw")
        elif self.firewall is FirewallChange.REMOVE:
            body.append("would remove firewall table inet declos-fw")
        if self.old_top != self.system.top:
            body.append(f"would activate {self.system.top}")
        if not body:
            body.append(f"no changes: {self.system.top} is already active")
        return lines + body


def _old_system(host: Host, state: ActivationState, warnings: list[str]) -> System | None:
    top = state.active_system()
    if not top:
        return None
    try:
        return load(host, top)
    except ClosureError as exc:
        warnings.append(
            f"warning: the previously active system cannot be read ({exc});"
            " treating all units as new"
        )
        return None


def _firewall_change(host: Host, system: System, old: System | None) -> FirewallChange:
    new = system.firewall_file(host)
    if new is None:
        return FirewallChange.REMOVE if firewall.table_present() else FirewallChange.NONE
    firewall.require()
    old_file = old.firewall_file(host) if old else None
    if (
        old_file is None
        or not old_file.exists()
        or old_file.read_bytes() != new.read_bytes()
        or not firewall.table_present()
    ):
        return FirewallChange.LOAD
    return FirewallChange.NONE


def plan_activation(
    host: Host, system: System, action: str, systemd: Systemd | None
) -> ActivationPlan:
    """The plan for activating `system`; raises an ActivationError if it must not run.

    `systemd` is the D-Bus connection on a live host (None under --root)."""
    refused = requires_refusal(host, system.spec.host_requires)
    if refused:
        raise RefusedError(refused)
    state = ActivationState(host)
    warnings: list[str] = []
    problems: list[tuple[str, str]] = []
    old = _old_system(host, state, warnings)
    journal = state.journal() if action != "dry-activate" else None
    resume = frozenset(str(u) for u in (journal or {}).get("start", []))
    etc_manager = EtcManager(host, host.activation_state / "etc-manifest.json")
    etc = etc_manager.plan(system.top, wants_for(host, system))
    etc_manager.check(etc)
    users = UsersStep(host).plan(system.spec.users, system.spec.groups)
    refusal = scripts_refusal(host, system)
    if refusal:
        raise RefusedError(refusal)
    units, before = UnitPlan(), {}
    if systemd is not None:
        before = systemd.list_units()
        units = Planner(old.units_dir(host) if old else None, system.units_dir(host), before).plan(
            set(resume)
        )
    fw, to_format = FirewallChange.NONE, []
    if host.live:
        fw = _firewall_change(host, system, old)
        if not system.is_container:
            try:
                to_format = mounts.to_format(system.spec.file_systems)
            except MountError as exc:
                problems.append(("fileSystems", str(exc)))
    return ActivationPlan(
        action=action,
        system=system,
        old_top=old.top if old else None,
        interrupted=str((journal or {}).get("system")) if journal else None,
        resume=resume,
        etc=etc,
        users=users,
        units=units,
        units_before=before,
        firewall=fw,
        to_format=tuple(to_format),
        set_kernel_hostname=host.live and not system.is_container and bool(system.hostname),
        warnings=tuple(warnings),
        problems=tuple(problems),
    )
