"""networking.firewall -> exact nftables text for table inet declos-fw, checked by real nft."""

from __future__ import annotations

import pytest

from declos.system.firewall import FirewallError, check_ruleset, ports_to_set, render_ruleset

EXPECTED = """\
table inet declos-fw
delete table inet declos-fw
table inet declos-fw {
  chain input {
    type filter hook input priority filter; policy drop;

    iifname { "lo", "eth2" } accept comment "trusted interfaces"

    # Some ICMPv6 types like NDP is untracked
    ct state vmap {
      invalid : drop,
      established : accept,
      related : accept,
      new : jump input-allow,
      untracked : jump input-allow,
    }

    tcp flags syn / fin,syn,rst,ack log level info prefix "refused connection: "

    meta l4proto tcp reject with tcp reset
    reject
  }

  chain input-allow {
    tcp dport { 22, 80, 443 } accept
    udp dport { 53, 60000-61000 } accept
    iifname "eth1" tcp dport { 8080 } accept
    icmpv6 type != { nd-redirect, 139 } accept comment "Accept all ICMPv6 messages except redirects and node information queries (type 139).  See RFC 4890, section 4.4."
    ip6 daddr fe80::/64 udp dport 546 accept comment "DHCPv6 client"

    ip saddr 127.0.0.0/8 tcp dport 9000 accept
  }
}
"""

CONFIG = {
    "allowedTCPPorts": [443, 80],
    "allowedUDPPorts": [53],
    "allowedUDPPortRanges": [{"from": 60000, "to": 61000}],
    "interfaces": {"eth1": {"allowedTCPPorts": [8080]}},
    "trustedInterfaces": ["eth2", "lo"],
    "allowPing": False,
    "rejectPackets": True,
    "logRefusedConnections": True,
    "extraInputRules": "ip saddr 127.0.0.0/8 tcp dport 9000 accept\n",
}


def firewall(value, config: dict, **more) -> dict:
    return value("networking.firewall", {"networking.firewall": config, **more})


def test_ruleset_exact_text_and_nft_accepts_it(value) -> None:
    # services.openssh opens its port 22 through its module (openFirewall).
    text = render_ruleset(firewall(value, CONFIG, **{"services.openssh.enable": True}))
    assert text == EXPECTED
    check_ruleset(text)


def test_defaults_allow_ping_and_drop_and_log_refused_connections(value) -> None:
    # The module's default logRefusedConnections = true is what users always got (the
    # builder used to assume false for an absent key, which evaluation never produced).
    text = render_ruleset(firewall(value, {}))
    assert 'icmp type echo-request accept comment "allow ping"' in text
    assert "reject" not in text
    assert 'log level info prefix "refused connection: "' in text
    assert "dport" not in text.split("chain input-allow")[1].split("icmp")[0]
    check_ruleset(text)


def test_disabled_firewall_has_no_ruleset(value) -> None:
    assert render_ruleset(firewall(value, {"enable": False, "allowedTCPPorts": [22]})) is None


def test_ports_are_sorted_and_unique() -> None:
    assert ports_to_set([80, 22, 80], [{"from": 1000, "to": 2000}]) == "22, 80, 1000-2000"


def test_bad_extra_rules_fail_the_check_with_the_line(value) -> None:
    text = render_ruleset(firewall(value, {"extraInputRules": "tcp dport bogus accept"}))
    with pytest.raises(FirewallError) as info:
        check_ruleset(text)
    message = str(info.value)
    assert "does not pass `nft --check`" in message
    assert "firewall.nft:" in message and "tcp dport bogus accept" in message
    assert "networking.firewall.extraInputRules" in message
