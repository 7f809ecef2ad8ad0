"""Rebooting a machine and waiting for it (colmena's way: the boot id must change).

`systemctl reboot`, then poll over new SSH connections every 2 s until
/proc/sys/kernel/random/boot_id differs from the one read before; a reboot that never
comes back within `timeout` is reported, not waited for forever (NixOps #193).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from declos.hosts import HostError

BOOT_ID = "/proc/sys/kernel/random/boot_id"


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
