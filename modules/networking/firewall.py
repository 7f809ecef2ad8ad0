"""The packet filter: one nftables table built from `networking.firewall`."""

from declos.config import Option, mk_enable_option, types

_port_range = types.submodule(
    {
        "from": Option(types.port, description="First port of the range."),
        "to": Option(types.port, description="Last port of the range (inclusive)."),
    }
)


def _ports(kind: str, example):
    return {
        f"allowed{kind}Ports": Option(
            types.list_of(types.port),
            [],
            f"List of {kind} ports on which incoming connections are accepted.",
            example=example,
        ),
        f"allowed{kind}PortRanges": Option(
            types.list_of(_port_range),
            [],
            f"A range of {kind} ports on which incoming connections are accepted.",
            example=[{"from": 8999, "to": 9003}],
        ),
    }


# Linux's interface name rule (1-15 bytes, no '/', ':' or whitespace), narrowed to what
# needs no quoting inside nft's "..."; a trailing '*' is nft's wildcard. The builder checks
# the names of `interfaces` with the same rule (declos/system/names.py).
_interface_name = types.str_matching(r"^(?!\.\.?$)[A-Za-z0-9_.@+-]{1,15}\*?$")
_interface = types.submodule({**_ports("TCP", [22, 80]), **_ports("UDP", [53])})

options = {
    "networking.firewall": {
        "enable": Option(
            types.bool,
            True,
            "Whether to enable the firewall. It is a stateful filter that rejects incoming "
            "connections except on the allowed ports and from trusted interfaces; replies to "
            "outgoing connections are accepted.",
        ),
        **_ports("TCP", [22, 80]),
        **_ports("UDP", [53]),
        "interfaces": Option(
            types.attrs_of(_interface),
            {},
            "Interface-specific open ports (in addition to the global ones).",
            example={"eth0": {"allowedTCPPorts": [8080]}},
        ),
        "trustedInterfaces": Option(
            types.list_of(_interface_name),
            [],
            "Traffic coming in from these interfaces is accepted unconditionally. "
            "The loopback interface is always trusted.",
            example=["enp0s2"],
        ),
        "allowPing": Option(
            types.bool,
            True,
            "Whether to respond to incoming ICMPv4 echo requests (ping). ICMPv6 pings are always allowed.",
        ),
        "rejectPackets": Option(
            types.bool,
            False,
            "If set, refused packets are rejected rather than dropped (ignored): the sender "
            "gets an ICMP port unreachable or TCP RST instead of a timeout.",
        ),
        "logRefusedConnections": Option(
            types.bool,
            True,
            "Whether to log rejected or dropped incoming connections (to the kernel log).",
        ),
        "logRefusedPackets": mk_enable_option(
            "logging of every rejected or dropped packet, not only new connections"
        ),
        "extraInputRules": Option(
            types.lines,
            "",
            "Additional nftables rules added to the input chain before the final reject/drop, "
            "e.g. `ip saddr 10.0.0.0/8 tcp dport 5432 accept`.",
            example="ip6 saddr { fc00::/7, fe80::/10 } tcp dport 24800 accept",
        ),
    },
}
