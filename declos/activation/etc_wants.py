"""What /etc should contain for a closure: the one list etc_files.EtcManager applies.

Besides `environment.etc`, units are linked into /etc/systemd/system (so they override
the distribution's /lib units by systemd's own precedence), the host name and time zone
take over the distribution's files with a backup, and the boot-time unit that honours
`declos.generation=N` is installed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from declos.activation.closure import System
from declos.activation.etc_files import Want, static_link_text
from declos.activation.paths import Host, state_dir
from declos.common.atomic import sha256_file

BOOT_UNIT = "declos-boot.service"


def _text(target: str, text: str, replace: bool = False, mode: int = 0o644) -> Want:
    data = text.encode()
    return Want(
        target=target,
        kind="copy",
        source="text:" + hashlib.sha256(data).hexdigest(),
        data=data,
        mode=mode,
        replace_existing=replace,
    )


def boot_unit_text() -> str:
    profile = f"{state_dir()}/profiles/system"
    return (
        "[Unit]\n"
        "Description=declos: activate the generation chosen at boot\n"
        f"ConditionPathExists={profile}\n"
        "Wants=dbus.service\n"
        "After=dbus.service local-fs.target\n"
        "Before=multi-user.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "RemainAfterExit=yes\n"
        f"ExecStart={profile}/activate boot-time\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def _unit_source(path: Path) -> str:
    """What identifies a unit file's content, so an unchanged unit is not reported as
    updated just because the closure around it changed."""
    if path.is_symlink():
        return "link:" + os.readlink(path)
    return "sha256:" + sha256_file(path)


def wants_for(host: Host, system: System) -> list[Want]:
    out: list[Want] = []
    for e in system.etc:
        if e.mode == "symlink":
            out.append(
                Want(
                    target=e.target,
                    kind="link",
                    source=e.source,
                    link=static_link_text(e.target, "etc/" + e.target),
                    replace_existing=e.replace_existing,
                )
            )
        else:
            out.append(
                Want(
                    target=e.target,
                    kind="copy",
                    source=e.source,
                    data_path=host.resolve(e.source),
                    mode=int(e.mode, 8),
                    user=e.user,
                    group=e.group,
                    replace_existing=e.replace_existing,
                )
            )
    units = system.units_dir(host)
    if units.is_dir():
        for dirpath, dirnames, filenames in os.walk(units):
            rel_dir = os.path.relpath(dirpath, units)
            for name in sorted(
                filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
            ):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                target = "systemd/system/" + rel
                out.append(
                    Want(
                        target=target,
                        kind="link",
                        source=_unit_source(units / rel),
                        link=static_link_text(target, "units/" + rel),
                    )
                )
    if system.hostname:
        out.append(_text("hostname", system.hostname + "\n", replace=True))
    if system.time_zone:
        tz = system.time_zone
        out.append(
            Want(
                target="localtime",
                kind="link",
                source="zoneinfo:" + tz,
                link=f"../usr/share/zoneinfo/{tz}",
                replace_existing=True,
            )
        )
        out.append(_text("timezone", tz + "\n", replace=True))
    out.append(_text("systemd/system/" + BOOT_UNIT, boot_unit_text()))
    out.append(
        Want(
            target=f"systemd/system/multi-user.target.wants/{BOOT_UNIT}",
            kind="link",
            source="boot-unit",
            link=f"../{BOOT_UNIT}",
        )
    )
    return out
