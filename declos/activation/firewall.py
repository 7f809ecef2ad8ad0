"""The declos nftables table, replaced in one `nft -f` transaction.

firewall.nft in the closure starts by deleting/flushing only `table inet declos-fw`, so
loading it swaps the whole table atomically: no window without rules, and conntrack
state (established connections) is untouched. Other tables on the host are not ours.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

TABLE = "inet declos-fw"


class FirewallError(Exception):
    pass


def _nft(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nft", *args], input=stdin, capture_output=True, text=True)


def apply(ruleset: Path | None, had_table: bool) -> str | None:
    """Load `ruleset`, or drop the table when the new closure has no firewall.

    Returns the line to print, or None when nothing was done."""
    if ruleset is not None:
        r = _nft("-f", str(ruleset))
        if r.returncode != 0:
            raise FirewallError(f"nft -f {ruleset} failed:\n{r.stderr.strip()}")
        return f"loading firewall table {TABLE}"
    if had_table:
        r = _nft("delete", "table", "inet", "declos-fw")
        if r.returncode != 0 and "No such file" not in r.stderr:
            raise FirewallError(f"nft delete table {TABLE} failed:\n{r.stderr.strip()}")
        return f"removing firewall table {TABLE}"
    return None


def table_present() -> bool:
    return _nft("list", "table", "inet", "declos-fw").returncode == 0
