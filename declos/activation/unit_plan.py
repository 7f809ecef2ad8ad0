"""Deciding, per unit, stop / start / restart / reload / leave alone (NixOS rules).

Input is what is running now (name -> ActiveState) and the old and new closures' unit
directories; output is the lists switch-to-configuration would build. Only units the
closures define are ever touched: a Debian unit declos does not manage is not ours to
restart. Inactive units are left alone (a unit the admin stopped stays stopped), except
that units newly wanted by an active target are started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from declos.activation.units import (
    Comparison,
    Unit,
    compare,
    flag,
    has_own_file,
    load_unit,
    template_of,
    values,
)

CANNOT_RESTART = frozenset(
    {"sysinit.target", "basic.target", "multi-user.target", "graphical.target"}
)
SLEEP_TARGETS = frozenset({"suspend.target", "hibernate.target", "hybrid-sleep.target"})
ACTIVE_STATES = frozenset({"active", "activating", "reloading", "deactivating"})


@dataclass
class UnitPlan:
    stop: set[str] = field(default_factory=set)
    start: set[str] = field(default_factory=set)
    restart: set[str] = field(default_factory=set)
    reload: set[str] = field(default_factory=set)
    skip: set[str] = field(default_factory=set)
    start_new: set[str] = field(default_factory=set)
    start_silent: set[str] = field(default_factory=set)

    def empty(self) -> bool:
        return not (self.stop or self.start or self.restart or self.reload or self.start_new)


def wanted_units(units_dir: Path | None) -> dict[str, set[str]]:
    """unit -> the targets/units whose .wants/.requires dirs in the closure name it."""
    out: dict[str, set[str]] = {}
    if units_dir is None or not units_dir.is_dir():
        return out
    for d in os.listdir(units_dir):
        for suffix in (".wants", ".requires"):
            if d.endswith(suffix) and (units_dir / d).is_dir():
                for u in os.listdir(units_dir / d):
                    out.setdefault(u, set()).add(d[: -len(suffix)])
    return out


def _names(units_dir: Path | None) -> set[str]:
    """Units a closure defines or extends: unit files and NAME.d drop-in dirs."""
    if units_dir is None or not units_dir.is_dir():
        return set()
    out = set()
    for n in os.listdir(units_dir):
        if (units_dir / n).is_dir():
            if n.endswith(".d"):
                out.add(n[:-2])
        elif "." in n:
            out.add(n)
    return out


class Planner:
    def __init__(self, old_dir: Path | None, new_dir: Path, active: dict[str, str]) -> None:
        self.old_dir = old_dir
        self.new_dir = new_dir
        self.active = {u: s for u, s in active.items() if s in ACTIVE_STATES}
        self.old_names = _names(old_dir)
        self.new_names = _names(new_dir)

    def _ours(self, unit: str) -> bool:
        t = template_of(unit)
        return bool({unit, t} & (self.old_names | self.new_names))

    def plan(self, resume_start: set[str] | None = None) -> UnitPlan:
        p = UnitPlan()
        for unit in sorted(self.active):
            if not self._ours(unit):
                continue
            old = load_unit(self.old_dir, unit) if self.old_dir else None
            new = load_unit(self.new_dir, unit)
            if new is None:
                if old is None:
                    continue
                if self.old_dir is not None and not has_own_file(self.old_dir, unit):
                    self._modified(p, unit, {})  # only our drop-ins went away: the unit stays
                elif flag(old, "X-StopOnRemoval", True, ("Unit",)):
                    p.stop.add(unit)
                continue
            if unit.endswith(".target") and flag(new, "X-StopOnReconfiguration", False, ("Unit",)):
                p.stop.add(unit)
                p.start.add(unit)
                continue
            cmp = Comparison.RESTART if old is None else compare(old, new)
            if cmp is Comparison.EQUAL:
                if (
                    unit.endswith(".target")
                    and unit not in SLEEP_TARGETS
                    and not flag(new, "RefuseManualStart", False, ("Unit",))
                    and not flag(new, "X-OnlyManualStart", False, ("Unit",))
                ):
                    p.start_silent.add(unit)
            elif cmp is Comparison.RELOAD:
                if unit not in p.restart and unit not in p.stop:
                    p.reload.add(unit)
            else:
                self._modified(p, unit, new)
        wanted_new = wanted_units(self.new_dir)
        wanted_old = wanted_units(self.old_dir)
        for unit in sorted(wanted_new):
            if unit in self.active or unit in p.stop:
                continue
            newly = (
                unit not in self.old_names
                or not (wanted_old.get(unit, set()) & wanted_new[unit])
                or unit in (resume_start or set())
            )
            live_parent = any(t in self.active or t in self.new_names for t in wanted_new[unit])
            if newly and live_parent:
                p.start_new.add(unit)
        for unit in sorted(resume_start or set()):
            if unit in self.new_names and unit not in self.active:
                p.start.add(unit)
                p.start_new.discard(unit)
        p.reload -= p.restart | p.stop
        return p

    def _modified(self, p: UnitPlan, unit: str, new: Unit) -> None:
        if unit in CANNOT_RESTART or unit.endswith((".path", ".slice")):
            return
        if unit.endswith(".mount"):
            (p.reload if unit == "-.mount" else p.restart).add(unit)
            return
        if unit.endswith(".socket"):
            return
        if flag(new, "X-ReloadIfChanged", False) and unit not in p.restart and unit not in p.stop:
            p.reload.add(unit)
        elif (
            not flag(new, "X-RestartIfChanged", True)
            or flag(new, "RefuseManualStop", False, ("Unit",))
            or flag(new, "X-OnlyManualStart", False, ("Unit",))
        ):
            p.skip.add(unit)
        elif not flag(new, "X-StopIfChanged", True) or not unit.endswith(".service"):
            p.restart.add(unit)
        else:
            sockets = self._sockets(unit, new)
            if sockets:
                p.stop.update(sockets)
                p.start.update(sockets)
                p.stop.add(unit)
            else:
                p.stop.add(unit)
                p.start.add(unit)

    def _sockets(self, unit: str, new: Unit) -> list[str]:
        if flag(new, "X-NotSocketActivated", False):
            return []
        socks = values(new, "Service", "Sockets")
        implicit = unit[: -len(".service")] + ".socket"
        if not socks and implicit in self.new_names:
            socks = [implicit]
        return [s for s in socks if s in self.active]
