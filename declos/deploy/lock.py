"""One lock per deployment, held in the state database (a row of `locks`).

The row names its holder (host, pid, the pid's start time, since when, the command), so
a second `declos deploy` can say who holds it. A row left by a process that died (`kill
-9`) is stale: on the same host its pid is gone or belongs to a process started at
another time (pid reuse), and the next taker replaces it. A holder on another host cannot
be checked and is trusted until it releases the lock.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from declos.deploy.errors import LockHeld
from declos.deploy.state import Deployment, State


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    start_time: str
    since: float
    command: str

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.since))
        return f"pid {self.pid} on {self.host} (`{self.command}`, since {when})"

    def alive(self) -> bool:
        if self.host != socket.gethostname():
            return True
        return process_start_time(self.pid) == self.start_time


def process_start_time(pid: int) -> str:
    """Field 22 of /proc/PID/stat (start time in clock ticks since boot); '' if no such pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def me(command: str) -> Holder:
    pid = os.getpid()
    return Holder(socket.gethostname(), pid, process_start_time(pid), time.time(), command)


def holder(state: State, dep: Deployment) -> Holder | None:
    rows = state.rows(
        "select holder, pid, start_time, since, command from locks where deployment = ?",
        (dep.uuid,),
    )
    return Holder(*rows[0]) if rows else None


def try_acquire(state: State, dep: Deployment, who: Holder) -> Holder | None:
    """Take the lock; None on success, else the live holder. Stale holders are replaced."""
    with state.transaction() as db:
        row = db.execute(
            "select holder, pid, start_time, since, command from locks where deployment = ?",
            (dep.uuid,),
        ).fetchone()
        if row is not None:
            current = Holder(*row)
            if current.alive() and (current.pid, current.host) != (who.pid, who.host):
                return current
            if not current.alive():
                print(
                    f"warning: taking over the stale lock of {current.describe()} (process is gone)",
                    file=sys.stderr,
                )
        db.execute(
            "insert or replace into locks values (?, ?, ?, ?, ?, ?)",
            (dep.uuid, who.host, who.pid, who.start_time, who.since, who.command),
        )
    return None


def release(state: State, dep: Deployment, who: Holder) -> None:
    with state.transaction() as db:
        db.execute(
            "delete from locks where deployment = ? and holder = ? and pid = ?",
            (dep.uuid, who.host, who.pid),
        )


@contextmanager
def deployment_lock(
    state: State, dep: Deployment, command: str, timeout: float = 0.0
) -> Iterator[Holder]:
    """Hold the deployment's lock for the block; wait up to `timeout` s, then LockHeld."""
    who = me(command)
    deadline = time.monotonic() + timeout
    while True:
        current = try_acquire(state, dep, who)
        if current is None:
            break
        if time.monotonic() >= deadline:
            raise LockHeld(dep.name, current.describe())
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    try:
        yield who
    finally:
        release(state, dep, who)
