"""`<name>-key.service` for every `deployment.keys.<name>` (NixOps' key units).

A key's unit is started once its file exists and stays active while it exists, so a
service that needs the key orders itself `after` and `requires` it, and a tmpfs
`destDir` emptied by a reboot holds the service back until `declos send-keys`. Only the
key's path is in the unit: its contents never enter the store.
"""

import shlex


def config(config, **_):
    keys = config.deployment["keys"]  # `.keys` would be the dict method
    services = {}
    for name, key in keys.items():
        path = shlex.quote(f"{key.destDir.rstrip('/')}/{key.name}")
        services[f"{name}-key"] = {
            "description": f"declos key {name}",
            "wantedBy": ["multi-user.target"] if key.uploadAt == "pre-activation" else [],
            "preStart": f"while ! [ -e {path} ]; do sleep 0.5; done",
            "serviceConfig": {
                "TimeoutStartSec": "infinity",
                "Restart": "always",
                "RestartSec": "1",
            },
            "script": f"while [ -e {path} ]; do sleep 1; done",
        }
    return {"systemd": {"services": services}} if services else {}
