"""Rebooting a machine and waiting for it (colmena's way: the boot id must change).

`systemctl reboot`, then poll over new SSH connections every 2 s until
/proc/sys/kernel/random/boot_id differs from the one read before; a reboot that never
comes back within `timeout` is reported, not waited for forever (NixOps #193).

sshd answers before the boot is over: declos-boot.service (Before=multi-user.target) is
what activates the booted generation and points /run/declos/current-system at it, so a
deployer that wants to see the new closure running waits for that unit too
(`wait_for_boot_activation`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from declos.hosts.errors import HostError

BOOT_ID = "/proc/sys/kernel/random/boot_id"
BOOT_UNIT = "declos-boot.service"
# The running closure, the boot-time unit's state, and whether the boot is still going on.
BOOT_PROBE = (
    "readlink /run/declos/current-system || echo; "
    f"systemctl show -p ActiveState --value {BOOT_UNIT} || echo; "
    "systemctl is-system-running || true"
)
BOOTING = ("initializing", "starting")


def reboot_and_wait(
    host: Any, log: Callable[[str], None], *, wait: bool = True, timeout: float = 300.0
) -> bool:
    """True when the host rebooted (and, with `wait`, answers again with a new boot id)."""
    before = host.run(["cat", BOOT_ID]).text.strip()
    try:
        host.run(["systemctl", "reboot"], timeout=20, check=False)
    except HostError:
        pass  # the connection may drop before the command returns
    log("rebooting")
    if not wait:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(2)
        try:
            host.reconnect()
            now = host.run(["cat", BOOT_ID], timeout=10).text.strip()
        except HostError:
            continue
        if now != before:
            log("back up (new boot id)")
            return True
    log(f"did not come back within {timeout:g} s")
    return False


def boot_activation_done(unit_state: str, system_state: str) -> bool:
    """Whether the boot-time activation is over: its unit finished (active or failed), or
    the boot itself is over and the unit never ran (not enabled, or its condition failed)."""
    if unit_state in ("active", "failed"):
        return True
    return unit_state != "activating" and system_state not in BOOTING


def wait_for_boot_activation(
    host: Any, log: Callable[[str], None], *, timeout: float = 300.0
) -> str | None:
    """Wait until the rebooted host's boot-time activation is over; the closure it runs
    then ("" for none), or None when that did not happen within `timeout`."""
    deadline = time.monotonic() + timeout
    said = False
    while True:
        lines = _boot_probe(host)
        if boot_activation_done(lines[1], lines[2]):
            log(f"boot-time activation {lines[1] or 'not run'} (system {lines[2] or '?'})")
            return lines[0]
        if time.monotonic() >= deadline:
            log(f"the boot-time activation did not finish within {timeout:g} s")
            return None
        if not said:
            log(f"waiting for {BOOT_UNIT} ({lines[1] or '?'}, system {lines[2] or '?'})")
            said = True
        time.sleep(1)


def _boot_probe(host: Any) -> list[str]:
    """BOOT_PROBE's three lines; a connection lost while booting reads as still booting."""
    try:
        out = host.run(["sh", "-c", BOOT_PROBE], timeout=30, check=False)
    except HostError:
        try:
            host.reconnect()
        except HostError:
            pass  # the next round tries again
        return ["", "activating", "starting"]
    lines = [x.strip() for x in out.stdout.decode(errors="replace").splitlines()]
    return lines + [""] * 3
