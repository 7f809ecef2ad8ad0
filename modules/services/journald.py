"""`services.journald`: settings of systemd-journald.

NixOS writes the whole /etc/systemd/journald.conf; on a Debian host that file belongs to
the distribution, so declos writes the drop-in /etc/systemd/journald.conf.d/60-declos.conf
(`[Journal]` + `extraConfig`) and extends systemd-journald.service with X-Restart-Triggers
on it and X-StopIfChanged=false, as NixOS's journald.nix does, so a change restarts the
journal in one step. Nothing is written while `extraConfig` is empty.
"""

from declos.config import Option, types

TARGET = "systemd/journald.conf.d/60-declos.conf"

options = {
    "services.journald.extraConfig": Option(
        types.lines,
        "",
        "Extra lines of the `[Journal]` section of journald.conf(5).",
        example="SystemMaxUse=50M\nMaxRetentionSec=1week",
    ),
}


def config(config, pkgs):
    extra = config.services.journald.extraConfig.strip("\n")
    if not extra:
        return {}
    conf = pkgs.write_text("etc-journald.conf.d-60-declos.conf", f"[Journal]\n{extra}\n")
    return {
        "environment.etc": {TARGET: {"source": conf}},
        "systemd.services.systemd-journald": {
            "overrideStrategy": "asDropin",
            "restartTriggers": [conf],
            "stopIfChanged": False,
        },
    }
