"""The declos nftables table, replaced in one `nft -f` transaction.

firewall.nft in the closure starts by deleting/flushing only `table inet declos-fw`, so
loading it swaps the whole table atomically: no window without rules, and conntrack
state (established connections) is untouched. Other tables on the host are not ours.

A host without `nft` (a minimal container) is fine while the firewall is disabled:
there is no table to remove. With the firewall enabled it is an error, said up front.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from declos.activation.errors import FirewallError

TABLE = "inet declos-fw"


def available() -> bool:
    """Whether the `nft` binary exists on this host."""
    return shutil.which("nft") is not None


def require() -> None:
    """Refuse an enabled firewall on a host that cannot load it."""
    if not available():
        raise FirewallError(
            "networking.firewall.enable is true but this host has no `nft` binary;"
            " install nftables on the host, or set networking.firewall.enable = false"
            " (for example in a container whose host filters traffic)"
        )


def _nft(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nft", *args], capture_output=True, text=True, check=False)


def apply(ruleset: Path | None) -> str | None:
    """Load `ruleset`, or drop the table when the new closure has no firewall.

    Returns the line to print, or None when nothing was done."""
    if ruleset is not None:
        require()
        r = _nft("-f", str(ruleset))
        if r.returncode != 0:
            raise FirewallError(f"nft -f {ruleset} failed:\n{r.stderr.strip()}")
        return f"loading firewall table {TABLE}"
    if not available():
        return None
    r = _nft("delete", "table", "inet", "declos-fw")
    if r.returncode != 0 and "No such file" not in r.stderr:
        raise FirewallError(f"nft delete table {TABLE} failed:\n{r.stderr.strip()}")
    return f"removing firewall table {TABLE}"


def table_present() -> bool:
    """Whether the declos table is loaded (False on a host without nft)."""
    return available() and _nft("list", "table", "inet", "declos-fw").returncode == 0
