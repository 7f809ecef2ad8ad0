"""`boot.kernel.sysctl`: kernel parameters, applied by systemd-sysctl.

As NixOS's config/sysctl.nix: one file /etc/sysctl.d/60-declos.conf (`key=value`, keys
sorted, `false` as 0, `true` as 1, null entries left out), and the distribution's
systemd-sysctl.service extended with a drop-in whose X-Restart-Triggers name that
file, so a changed parameter is applied on switch.
"""

from declos.config import Option, types

TARGET = "sysctl.d/60-declos.conf"

_value = types.null_or(types.one_of([types.bool, types.int, types.single_line_str]))

options = {
    "boot.kernel.sysctl": Option(
        types.attrs_of(_value),
        {},
        "Runtime parameters of the Linux kernel, as set by sysctl(8). A null value leaves the "
        "parameter alone (a way to drop one another module set).",
        example={"net.ipv4.tcp_syncookies": False, "vm.swappiness": 60},
    ),
}


def sysctl_value(value):
    """NixOS: false -> 0, true -> 1, else toString."""
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def config(config, pkgs):
    sysctl = config.boot.kernel.sysctl
    lines = [f"{k}={sysctl_value(v)}\n" for k, v in sorted(sysctl.items()) if v is not None]
    if not lines:
        return {}
    conf = pkgs.write_text("etc-sysctl.d-60-declos.conf", "".join(lines))
    return {
        "environment.etc": {TARGET: {"source": conf}},
        "systemd.services.systemd-sysctl": {
            "overrideStrategy": "asDropin",
            "restartTriggers": [conf],
        },
    }
