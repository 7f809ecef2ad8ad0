"""`services.timesyncd`: SNTP time synchronisation with systemd-timesyncd.

As NixOS's timesyncd.nix, with `servers` defaulting to `networking.timeServers`; the
settings go to the drop-in /etc/systemd/timesyncd.conf.d/60-declos.conf (Debian owns
timesyncd.conf) and systemd-timesyncd.service (Debian's package `systemd-timesyncd`) is
extended with a drop-in: wanted by sysinit.target and restarted when the settings change.
Unlike NixOS (enabled by default) it is off unless enabled: a Debian host already has
its own choice of time daemon.
"""

from declos.config import Option, mk_enable_option, types

TARGET = "systemd/timesyncd.conf.d/60-declos.conf"

_server = types.str_matching(r"^[A-Za-z0-9.:\[\]_-]+$")

options = {
    "networking.timeServers": Option(
        types.list_of(_server),
        ["0.debian.pool.ntp.org", "1.debian.pool.ntp.org", "2.debian.pool.ntp.org"],
        "The NTP servers the time daemons use.",
    ),
    "services.timesyncd": {
        "enable": mk_enable_option("systemd-timesyncd, the SNTP client of systemd"),
        "servers": Option(
            types.null_or(types.list_of(_server)),
            None,
            "The NTP servers to synchronise with (`NTP=`); null means "
            "`networking.timeServers` (NixOS's default).",
            default_text="config.networking.timeServers",
        ),
        "fallbackServers": Option(
            types.null_or(types.list_of(_server)),
            None,
            "Servers used when none of `servers` answers (`FallbackNTP=`); null keeps the "
            "distribution's.",
        ),
        "extraConfig": Option(
            types.lines, "", "Extra lines of the `[Time]` section of timesyncd.conf(5)."
        ),
    },
}


def timesyncd_conf(cfg, time_servers):
    servers = cfg.servers if cfg.servers is not None else time_servers
    lines = ["[Time]", "NTP=" + " ".join(servers)]
    if cfg.fallbackServers is not None:
        lines.append("FallbackNTP=" + " ".join(cfg.fallbackServers))
    extra = cfg.extraConfig.strip("\n")
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def config(config, pkgs):
    cfg = config.services.timesyncd
    if not cfg.enable:
        return {}
    text = timesyncd_conf(cfg, config.networking.timeServers)
    conf = pkgs.write_text("etc-timesyncd.conf.d-60-declos.conf", text)
    return {
        "environment.etc": {TARGET: {"source": conf}},
        "systemd.services.systemd-timesyncd": {
            "overrideStrategy": "asDropin",
            "wantedBy": ["sysinit.target"],
            "restartTriggers": [conf],
        },
    }
