"""Libvirt domains a test created through `declos create`/`deploy` must not outlive it.

The session's own machines (named ``declos-tPID-...``) are the Driver's to destroy. A
test that runs `declos deploy` with a libvirt machine creates a domain the Driver does not
know; if the test fails, times out or is interrupted (Ctrl-C) before its own `declos
destroy`, the domain would keep running and hold a core of this 2-core machine for the
rest of the run. Such a domain is recognised by a path under the pytest session's base
temporary directory in its XML (its disks live in the test's state directory), so nothing
outside this session is ever touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from declos.testing.driver import DOMAIN_PREFIX
from declos.virt.libvirt_domain import _libvirt, open_connection


def domains_under(conn: Any, root: Path) -> list[Any]:
    """Domains (not the Driver's) whose XML names a path inside `root`."""
    marker = str(root).rstrip("/") + "/"
    return [
        dom
        for dom in conn.listAllDomains()
        if not dom.name().startswith(DOMAIN_PREFIX) and marker in dom.XMLDesc(0)
    ]


def destroy_domains_under(root: Path) -> list[str]:
    """Power off and undefine every domain `domains_under(root)`; return their names."""
    libvirt = _libvirt()
    conn = open_connection()
    try:
        names = []
        for dom in domains_under(conn, root):
            names.append(dom.name())
            try:
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(
                    libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                    | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                )
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
        return sorted(names)
    finally:
        conn.close()
