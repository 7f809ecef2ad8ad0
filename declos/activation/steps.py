"""The host-level side steps of activation that need no planning of their own:
activation scripts, tmpfiles, the host name, the current-system link, and the
failure report for units (systemctl status plus the journal tail, as NixOS prints).

Under `--root DIR` activation scripts run chrooted into DIR, never on the machine doing
the activation: a script says `touch /x` meaning the tree's /x. A tree that cannot run
them (no /bin/sh, scripts outside its store, not root) is refused before anything
changes (`scripts_refusal`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from declos.activation.closure import System
from declos.activation.paths import Host
from declos.common.atomic import atomic_symlink

CHROOT = "chroot"


def scripts_refusal(host: Host, system: System) -> str | None:
    """Why the activation scripts cannot run in this tree, or None when they can."""
    scripts = system.spec.activation_scripts
    if host.root is None or not scripts:
        return None
    names = ", ".join(s.name for s in scripts)
    why = None
    if os.geteuid() != 0:
        why = "running them chrooted into the tree needs root"
    elif not os.path.lexists(host.phys("/bin/sh")):
        why = "the tree has no /bin/sh to run them with"
    else:
        outside = [s.name for s in scripts if not os.path.lexists(host.phys(s.path))]
        if outside:
            why = f"{', '.join(outside)} is not in the tree's store"
    if why is None:
        return None
    return (
        f"system.activationScripts ({names}) would run chrooted into --root {host.root}, but {why};"
        " activate as root into a complete tree, or remove the activation scripts"
    )


def run_activation_scripts(host: Host, system: System, action: str) -> list[str]:
    """Run each snippet in order; a failing one does not stop the rest (as NixOS)."""
    failures = []
    env = dict(os.environ, DECLOS_ACTION=action, DECLOS_SYSTEM=system.top)
    env.pop("DECLOS_ROOT", None)
    for s in system.spec.activation_scripts:
        if host.root is None:
            argv, cwd = [s.path], None
        else:
            argv, cwd = [CHROOT, str(host.root), s.path], str(host.root)
        r = subprocess.run(
            argv,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if r.stdout:
            print(
                r.stdout, end="" if r.stdout.endswith("\n") else "\n", file=sys.stderr, flush=True
            )
        if r.returncode != 0:
            failures.append(f"Activation script snippet '{s.name}' failed ({r.returncode})")
    return failures


def run_tmpfiles(host: Host, system: System) -> str | None:
    """systemd-tmpfiles on the closure's rules (`--root` keeps it inside the tree)."""
    if not system.spec.tmpfiles:
        return None
    cmd = ["systemd-tmpfiles", "--create", "--remove"]
    if host.root is not None:
        cmd.append(f"--root={host.root}")
    cmd.append(str(host.store_phys(system.spec.tmpfiles)))
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return f"systemd-tmpfiles failed ({r.returncode}): {r.stderr.strip()}"
    return None


def set_hostname(name: str) -> None:
    """The running kernel's host name (live hosts only; /etc/hostname is an etc entry)."""
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
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
        parts.append(f"$ {' '.join(cmd)}\n{(r.stdout + r.stderr).rstrip()}")
    return "\n".join(parts)
