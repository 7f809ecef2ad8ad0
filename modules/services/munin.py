"""Munin: `services.munin-node` (the agent) and `services.munin-cron` (the collector that
writes the HTML), as NixOS's munin.nix, with Debian's packages from the store.

munin-node runs in the foreground under systemd with a generated munin-node.conf; its
plugins are the links `munin-node-configure --suggest --shell` makes in
/etc/munin/plugins at start (as NixOS does), from munin-plugins-core's plugin directory.
munin-cron runs every five minutes (`startAt`, a timer) as the `munin` user with a
generated munin.conf whose `hosts` text is the talk's example
(`[${config.networking.hostName}]\\n address localhost`); its `tmpldir` and `staticdir`
are the munin package's in the store, as in NixOS, and munin-html writes the HTML into
/var/www/munin. Departures from NixOS: `port`,
`listenAddress` and `logFile` are options (NixOS hard-codes 4949, `*` and syslog),
`autoPlugins` limits autoconfiguration to the plugins named (NixOS always offers all),
munin-node.conf says `ipv6_package IO::Socket::INET6` (so `host *` binds on a host whose
only IPv6 address is ::1; see node_conf), and
the packages are Debian's `munin-node` and `munin` (`pkgs.munin_node`, `pkgs.munin`).
"""

import shlex

from declos.config import Option, mk_enable_option, types

NODE_CONF = "munin/munin-node.conf"
HTMLDIR = "/var/www/munin"
PLUGINS = "/etc/munin/plugins"
_word = types.str_matching(r"^[^\s\x00-\x1f\x7f]+$")

options = {
    "services.munin-node": {
        "enable": mk_enable_option("the Munin node (answers a Munin master on its port)"),
        "package": Option(
            types.null_or(types.package),
            None,
            "The munin-node package; null means `pkgs.munin-node` from declos.lock.",
            default_text="pkgs.munin-node",
        ),
        "port": Option(types.port, 4949, "The TCP port munin-node listens on."),
        "listenAddress": Option(_word, "*", "The address munin-node binds (`host`)."),
        "logFile": Option(_word, "/var/log/munin/munin-node.log", "munin-node's `log_file`."),
        "extraConfig": Option(types.lines, "", "Lines appended to munin-node.conf."),
        "extraPluginConfig": Option(
            types.lines, "", "munin-node plugin configuration (plugin-conf.d/nixos-config)."
        ),
        "disabledPlugins": Option(
            types.list_of(_word), [], "Plugins (names or globs) to remove after autoconfiguration."
        ),
        "autoPlugins": Option(
            types.null_or(types.list_of(_word)),
            None,
            "The plugins of munin-plugins-core that autoconfiguration may enable; null means "
            "all of them (as NixOS). Autoconfiguring all of them runs every plugin's "
            "`autoconf` at each start, which takes over 90 s on a slow (emulated) machine.",
            example=["cpu", "load", "memory", "uptime"],
        ),
    },
    "services.munin-cron": {
        "enable": mk_enable_option("munin-cron (collects from the nodes and writes the HTML)"),
        "package": Option(
            types.null_or(types.package),
            None,
            "The munin package; null means `pkgs.munin` from declos.lock.",
            default_text="pkgs.munin",
        ),
        "hosts": Option(
            types.lines,
            "",
            "The nodes to collect from, as munin.conf host sections.",
            example="[${config.networking.hostName}]\naddress localhost",
        ),
        "extraGlobalConfig": Option(types.lines, "", "Global lines of munin.conf."),
    },
}


def node_conf(cfg, host_name):
    lines = [
        "log_level 3",
        f"log_file {cfg.logFile}",
        f"port {cfg.port}",
        f"host {cfg.listenAddress}",
        # Net::Server resolves `host *` to [::] when getaddrinfo offers it, then binds it
        # with IO::Socket::IP, which asks again with AI_ADDRCONFIG: on a host whose only
        # IPv6 address is ::1 (IPv6 off on its interfaces) that finds nothing and the bind
        # fails with EINVAL. IO::Socket::INET6 binds [::] without that filter (dual stack).
        "ipv6_package IO::Socket::INET6",
        "background 0",
        "setsid 0",
        "user root",
        "group root",
        f"host_name {host_name}",
        r"ignore_file [\#~]$",
        r"ignore_file DEADJOE$",
        r"ignore_file \.bak$",
        r"ignore_file %$",
        r"ignore_file \.dpkg-(tmp|new|old|dist)$",
        r"ignore_file \.rpm(save|new)$",
        r"ignore_file \.pod$",
        r"allow ^::1$",
        r"allow ^127\.0\.0\.1$",
    ]
    extra = cfg.extraConfig.strip("\n")
    return "\n".join([*lines, *([extra] if extra else [])]) + "\n"


def munin_conf(cfg, package):
    # tmpldir/staticdir: Debian's defaults are /etc/munin/templates and /etc/munin/static,
    # which the package has in the store (NixOS points them into the store too)
    lines = [
        "dbdir     /var/lib/munin",
        f"htmldir   {HTMLDIR}",
        "logdir    /var/log/munin",
        "rundir    /run/munin",
        f"tmpldir   {package}/etc/munin/templates",
        f"staticdir {package}/etc/munin/static",
    ]
    for text in (cfg.extraGlobalConfig, cfg.hosts):
        if text.strip("\n"):
            lines.append(text.strip("\n"))
    return "\n".join(lines) + "\n"


def _node(config, pkgs):
    cfg = config.services["munin-node"]
    package = cfg.package if cfg.package is not None else pkgs["munin-node"]
    conf = pkgs.write_text("munin-node.conf", node_conf(cfg, config.networking.hostName))
    # munin-node exports MUNIN_LIBDIR=/usr/share/munin to plugins (they source
    # $MUNIN_LIBDIR/plugins/plugin.sh, which munin-common ships); a plugin setting is
    # applied after it.
    libdir = f"{pkgs['munin-common']}/usr/share/munin"
    plugin_text = f"[*]\nenv.MUNIN_LIBDIR {libdir}\n" + cfg.extraPluginConfig
    plugin_conf = pkgs.write_text("munin-plugin-conf", plugin_text)
    node = f"{package}/usr/sbin/munin-node"
    plugins = f"{pkgs['munin-plugins-core']}/usr/share/munin/plugins"
    if cfg.autoPlugins is not None:
        links = {name: f"{plugins}/{name}" for name in cfg.autoPlugins}
        plugins = str(pkgs.link_farm("munin-auto-plugins", links))
    configure = (
        f"{package}/usr/sbin/munin-node-configure --suggest --shell --config /etc/{NODE_CONF} "
        f"--libdir={plugins} --servicedir={PLUGINS}"
    )
    disabled = " ".join(shlex.quote(f"{PLUGINS}/{p}") for p in cfg.disabledPlugins)
    return {
        "environment.etc": {
            NODE_CONF: {"source": conf},
            "munin/plugin-conf.d/nixos-config": {"source": plugin_conf},
        },
        "systemd.services.munin-node": {
            "description": "Munin Node",
            "after": ["network.target"],
            "wantedBy": ["multi-user.target"],
            "restartTriggers": [conf, plugin_conf],
            "preStart": f"mkdir -p {PLUGINS} /var/log/munin /var/lib/munin-node/plugin-state\n"
            f"rm -f {PLUGINS}/*\n{configure} 2>/dev/null | /bin/sh\n"
            + (f"rm -f {disabled}\n" if disabled else ""),
            "serviceConfig": {
                # Debian's munin-node 2.0 reads its plugins from /etc/munin/plugins and
                # their settings from /etc/munin/plugin-conf.d (no flags for either)
                "ExecStart": f"{node} --config /etc/{NODE_CONF} --foreground",
            },
        },
    }


def _cron(config, pkgs):
    cfg = config.services["munin-cron"]
    package = cfg.package if cfg.package is not None else pkgs.munin
    conf = pkgs.write_text("munin.conf", munin_conf(cfg, package))
    return {
        "environment.etc": {"munin/munin.conf": {"source": conf}},
        "users.users.munin": {
            "isSystemUser": True,
            "group": "munin",
            "description": "Munin monitoring user",
            "home": "/var/lib/munin",
        },
        "users.groups.munin": {},
        "systemd.tmpfiles.rules": [
            "d /var/lib/munin 0755 munin munin -",
            f"d {HTMLDIR} 0755 munin munin -",
            "d /var/log/munin 0755 munin munin -",
            "d /run/munin 0755 munin munin -",
        ],
        "systemd.services.munin-cron": {
            "description": "batch Munin master programs",
            "startAt": "*:0/5",
            "restartTriggers": [conf],
            # munin-html copies staticdir into the htmldir with the store's read-only
            # modes; the next run must be able to copy over them
            "preStart": f"if [ -d {HTMLDIR}/static ]; then chmod -R u+w {HTMLDIR}/static; fi\n",
            "serviceConfig": {
                "Type": "oneshot",
                "User": "munin",
                "ExecStart": f"{package}/usr/bin/munin-cron --config /etc/munin/munin.conf",
            },
        },
    }


def config(config, pkgs):
    out = {}
    if config.services["munin-node"].enable:
        out.update(_node(config, pkgs))
    if config.services["munin-cron"].enable:
        cron = _cron(config, pkgs)
        if "environment.etc" in out:
            cron["environment.etc"] = {**out["environment.etc"], **cron["environment.etc"]}
        out.update(cron)
    return out
