"""The host-level side steps of activation that need no planning of their own:
activation scripts, tmpfiles, the host name, the current-system link, and the
failure report for units (systemctl status plus the journal tail, as NixOS prints)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from declos.activation.closure import System
from declos.activation.paths import Host
from declos.common.atomic import atomic_symlink


def run_activation_scripts(host: Host, system: System, action: str) -> list[str]:
    """Run each snippet in order; a failing one does not stop the rest (as NixOS)."""
    failures = []
    env = dict(os.environ, DECLOS_ACTION=action, DECLOS_SYSTEM=system.top)
    if host.root is not None:
        env["DECLOS_ROOT"] = str(host.root)
    for s in system.activation_scripts:
        r = subprocess.run(
            [str(host.store_phys(s.path))],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if r.stdout:
            print(
                r.stdout, end="" if r.stdout.endswith("\n") else "\n", file=sys.stderr, flush=True
            )
        if r.returncode != 0:
            failures.append(f"Activation script snippet '{s.name}' failed ({r.returncode})")
    return failures


def run_tmpfiles(host: Host, system: System) -> str | None:
    if not system.tmpfiles:
        return None
    cmd = ["systemd-tmpfiles", "--create", "--remove"]
    if host.root is not None:
        cmd.append(f"--root={host.root}")
    cmd.append(str(host.store_phys(system.tmpfiles)))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return f"systemd-tmpfiles failed ({r.returncode}): {r.stderr.strip()}"
    return None


def set_hostname(host: Host, name: str) -> None:
    if not host.live or not name:
        return
    p = Path("/proc/sys/kernel/hostname")
    if p.read_text().strip() != name:
        p.write_text(name)


def link_current_system(host: Host, top: str) -> None:
    atomic_symlink(top, host.run / "current-system")


def failure_report(unit: str) -> str:
    """`systemctl status` and the last 20 journal lines of a failed unit."""
    parts = []
    for cmd in (
        ["systemctl", "status", "--no-pager", "--full", unit],
        ["journalctl", "-u", unit, "-n", "20", "--no-pager", "-o", "short-precise"],
    ):
        r = subprocess.run(cmd, capture_output=True, text=True)
        parts.append(f"$ {' '.join(cmd)}\n{(r.stdout + r.stderr).rstrip()}")
    return "\n".join(parts)
