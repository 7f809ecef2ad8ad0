"""A machine written as a Python module: a small web app with its own user and unit.

It declares one option of its own (`webapp.port`) and derives the rest from it, reading
the final configuration in an ordinary `if`.
"""

from declos.config import Option, mk_default, types

options = {
    "webapp": {
        "enable": Option(types.bool, True, "Whether to run the example web app."),
        "port": Option(types.port, 8000, "Port the app listens on."),
    }
}


def config(config, pkgs, lib, options):
    cfg = config.webapp
    if not cfg.enable:
        return {}
    return {
        "networking.hostName": mk_default("webapp"),
        "users.users.webapp": {
            "isSystemUser": True,
            "group": "webapp",
            "home": "/var/lib/webapp",
            "createHome": True,
        },
        "users.groups.webapp": {},
        "systemd.services.webapp": {
            "description": "Example web app",
            "wantedBy": ["multi-user.target"],
            "after": ["network.target"],
            "serviceConfig": {
                "ExecStart": f"/usr/bin/python3 -m http.server {cfg.port} --directory /var/lib/webapp",
                "User": "webapp",
                "Restart": "always",
            },
        },
        "networking.firewall.allowedTCPPorts": [cfg.port],
    }
