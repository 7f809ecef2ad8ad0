"""`networking.firewall` -> one nftables table `inet declos-fw`, as NixOS's nftables firewall.

The rules follow nixos/modules/services/networking/firewall-nftables.nix (chains `input`
and `input-allow`, the same order and comments). The file begins with `table` + `delete
table` so that `nft -f` replaces only our table, in one netlink transaction: established
connections keep flowing and the distribution's own tables are left alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from typing import Any

from declos.system.errors import RenderError

TABLE = "declos-fw"
FAMILY = "inet"

ICMPV6_RULE = (
    'icmpv6 type != { nd-redirect, 139 } accept comment "Accept all ICMPv6 messages except '
    'redirects and node information queries (type 139).  See RFC 4890, section 4.4."'
)


class FirewallError(RenderError):
    """The generated ruleset was rejected by `nft --check` (usually bad extraInputRules)."""


def check_ranges(firewall: Mapping[str, Any]) -> None:
    """A range must not run backwards (nft would reject it and blame the wrong option)."""
    where = [
        ("networking", "firewall"),
        *(("networking", "firewall", "interfaces", name) for name in firewall["interfaces"]),
    ]
    for path in where:
        cfg = firewall if len(path) == 2 else firewall["interfaces"][path[-1]]
        for key in ("allowedTCPPortRanges", "allowedUDPPortRanges"):
            for r in cfg[key]:
                if int(r["from"]) > int(r["to"]):
                    raise FirewallError(
                        f"{'.'.join(path)}.{key}: the range from {r['from']} to {r['to']} runs "
                        "backwards; swap `from` and `to`",
                        (*path, key),
                    )


def ports_to_set(ports: list[int], ranges: list[Mapping[str, int]]) -> str:
    """NixOS portsToNftSet: sorted unique ports, then `from-to` ranges, comma separated."""
    items = [str(p) for p in sorted(set(int(p) for p in ports))]
    items += [f"{int(r['from'])}-{int(r['to'])}" for r in ranges]
    return ", ".join(items)


def _interface_rules(iface: str, cfg: Mapping[str, Any]) -> list[str]:
    prefix = "" if iface == "default" else f'iifname "{iface}" '
    lines: list[str] = []
    for proto, ports_key, ranges_key in (
        ("tcp", "allowedTCPPorts", "allowedTCPPortRanges"),
        ("udp", "allowedUDPPorts", "allowedUDPPortRanges"),
    ):
        ports = ports_to_set(list(cfg[ports_key]), list(cfg[ranges_key]))
        if ports:
            lines.append(f"{prefix}{proto} dport {{ {ports} }} accept")
    return lines


def render_ruleset(firewall: Mapping[str, Any]) -> str | None:
    """The whole `nft -f` file for table inet declos-fw, or None when the firewall is disabled.

    Services open their ports by defining `allowedTCPPorts` & co. in their modules."""
    if not firewall["enable"]:
        return None
    check_ranges(firewall)
    interfaces: dict[str, Mapping[str, Any]] = {"default": firewall}
    for iface, cfg in firewall["interfaces"].items():
        if iface != "default":
            interfaces[iface] = cfg
    trusted = list(dict.fromkeys(["lo", *firewall["trustedInterfaces"]]))

    input_chain = [
        "type filter hook input priority filter; policy drop;",
        "",
        "iifname { "
        + ", ".join(f'"{i}"' for i in trusted)
        + ' } accept comment "trusted interfaces"',
        "",
        "# Some ICMPv6 types like NDP is untracked",
        "ct state vmap {",
        "  invalid : drop,",
        "  established : accept,",
        "  related : accept,",
        "  new : jump input-allow,",
        "  untracked : jump input-allow,",
        "}",
    ]
    if firewall["logRefusedConnections"]:
        input_chain += [
            "",
            'tcp flags syn / fin,syn,rst,ack log level info prefix "refused connection: "',
        ]
    if firewall["rejectPackets"]:
        input_chain += ["", "meta l4proto tcp reject with tcp reset", "reject"]

    allow_chain: list[str] = []
    for iface in sorted(interfaces):
        allow_chain += _interface_rules(iface, interfaces[iface])
    if firewall["allowPing"]:
        allow_chain.append('icmp type echo-request accept comment "allow ping"')
    allow_chain.append(ICMPV6_RULE)
    allow_chain.append('ip6 daddr fe80::/64 udp dport 546 accept comment "DHCPv6 client"')
    extra = firewall["extraInputRules"].strip("\n")
    if extra:
        allow_chain += ["", *extra.splitlines()]

    def chain(name: str, body: list[str]) -> list[str]:
        return [f"  chain {name} {{", *[f"    {line}" if line else "" for line in body], "  }"]

    lines = [
        f"table {FAMILY} {TABLE}",
        f"delete table {FAMILY} {TABLE}",
        f"table {FAMILY} {TABLE} {{",
        *chain("input", input_chain),
        "",
        *chain("input-allow", allow_chain),
        "}",
    ]
    return "\n".join(lines) + "\n"


def check_ruleset(text: str, *, nft: str | None = None) -> None:
    """Run `nft --check -f` on the ruleset (needs CAP_NET_ADMIN); FirewallError with nft's message."""
    binary = (
        nft or shutil.which("nft") or ("/usr/sbin/nft" if os.path.exists("/usr/sbin/nft") else None)
    )
    if binary is None:
        raise FirewallError(
            "cannot check the firewall ruleset: `nft` not found (apt-get install nftables)"
        )
    with tempfile.NamedTemporaryFile(
        "w", prefix="declos-fw-", suffix=".nft", delete=False
    ) as handle:
        handle.write(text)
        name = handle.name
    try:
        result = subprocess.run([binary, "--check", "-f", name], capture_output=True, text=True)
    finally:
        os.unlink(name)
    if result.returncode != 0:
        message = result.stderr.strip().replace(name, "firewall.nft")
        raise FirewallError(
            "networking.firewall: the generated nftables ruleset does not pass `nft --check`:\n"
            f"{message}\n(check networking.firewall.extraInputRules)",
            ("networking", "firewall", "extraInputRules"),
        )
