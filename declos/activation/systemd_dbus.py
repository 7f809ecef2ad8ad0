"""systemd's manager over the system D-Bus, with jeepney (pure Python, in the closure).

Only what activation needs: list units, daemon-reload, queue jobs and wait for their
JobRemoved signals (so "restarting X" returns when X really restarted or failed), and
unit properties for failure reports and tests.
"""

from __future__ import annotations

import collections
import time
from typing import Any

# jeepney ships no type information (pyproject's mypy overrides say so); it is the one
# non-stdlib dependency, shipped in the activator store path too.
from jeepney import (
    DBusAddress,
    MatchRule,
    Properties,
    message_bus,
    new_method_call,
)
from jeepney.io.blocking import open_dbus_connection
from jeepney.wrappers import DBusErrorResponse, unwrap_msg

BUS = "org.freedesktop.systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"
JOB_TIMEOUT = 300.0


class SystemdError(Exception):
    pass


class Systemd:
    def __init__(self) -> None:
        self.conn = open_dbus_connection(bus="SYSTEM")
        self.mgr = DBusAddress("/org/freedesktop/systemd1", bus_name=BUS, interface=MANAGER)
        rule = MatchRule(
            type="signal", interface=MANAGER, member="JobRemoved", path="/org/freedesktop/systemd1"
        )
        self._call(message_bus.AddMatch(rule))
        self._removed: collections.deque[Any] = collections.deque()
        self._handle = self.conn.filter(rule, queue=self._removed)
        self._call(new_method_call(self.mgr, "Subscribe"))
        self.results: dict[str, tuple[str, str]] = {}  # job path -> (unit, result)

    def close(self) -> None:
        self._handle.close()
        self.conn.close()

    def _call(self, msg: Any, timeout: float = 90.0) -> tuple[Any, ...]:
        try:
            reply: tuple[Any, ...] = unwrap_msg(self.conn.send_and_get_reply(msg, timeout=timeout))
            return reply
        except DBusErrorResponse as exc:
            raise SystemdError(f"{exc.name}: {' '.join(map(str, exc.data))}") from None

    def list_units(self) -> dict[str, str]:
        """name -> ActiveState, for every unit systemd has loaded.

        A target with a queued start job counts as "activating": during boot
        (declos-boot.service runs before multi-user.target is reached) that is what makes
        units newly wanted by multi-user.target get started."""
        (units,) = self._call(new_method_call(self.mgr, "ListUnits"))
        out = {}
        for name, _desc, _load, active, _sub, following, _path, job_id, job_type, _job in units:
            if following:
                continue
            if active == "inactive" and job_id and job_type == "start" and name.endswith(".target"):
                active = "activating"
            out[name] = active
        return out

    def daemon_reload(self) -> None:
        self._call(new_method_call(self.mgr, "Reload"), timeout=180.0)

    def reset_failed(self) -> None:
        self._call(new_method_call(self.mgr, "ResetFailed"))

    def submit(self, method: str, unit: str) -> str:
        """Queue StartUnit/StopUnit/RestartUnit/ReloadUnit in mode "replace"; returns the job."""
        (job,) = self._call(new_method_call(self.mgr, method, "ss", (unit, "replace")))
        return str(job)

    def wait(self, jobs: dict[str, str], timeout: float = JOB_TIMEOUT) -> dict[str, str]:
        """Wait until every job (path -> unit) was removed; returns unit -> result."""
        deadline = time.monotonic() + timeout
        pending = set(jobs)
        out: dict[str, str] = {}
        for path in list(pending):
            if path in self.results:
                out[jobs[path]] = self.results[path][1]
                pending.discard(path)
        while pending:
            while self._removed:
                sig = self._removed.popleft()
                _id, path, unit, result = sig.body
                self.results[str(path)] = (unit, result)
                if path in pending:
                    pending.discard(path)
                    out[jobs[path]] = result
            if not pending:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                for path in pending:
                    out[jobs[path]] = "timeout"
                break
            try:
                self.conn.recv_messages(timeout=min(left, 5.0))
            except TimeoutError:
                pass
        return out

    def run_jobs(self, method: str, units: list[str]) -> dict[str, str]:
        jobs = {}
        out = {}
        for u in units:
            try:
                jobs[self.submit(method, u)] = u
            except SystemdError as exc:
                out[u] = f"error: {exc}"
        out.update(self.wait(jobs))
        return out

    def unit_property(
        self, unit: str, prop: str, interface: str = "org.freedesktop.systemd1.Unit"
    ) -> Any:
        (path,) = self._call(new_method_call(self.mgr, "LoadUnit", "s", (unit,)))
        addr = DBusAddress(path, bus_name=BUS, interface=interface)
        (value,) = self._call(Properties(addr).get(prop))
        return value[1]

    def settle(self, quiet: float = 0.25, limit: float = 30.0) -> None:
        """Give units started as a side effect a moment to reach their state."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            try:
                self.conn.recv_messages(timeout=quiet)
            except TimeoutError:
                return
