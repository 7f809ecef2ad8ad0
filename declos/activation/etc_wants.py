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

from declos.activation.closure import EtcEntry, System
from declos.activation.errors import ClosureError
from declos.activation.etc_files import Want, static_link_text
from declos.activation.paths import STATIC_LINK, Host, state_dir
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


# /etc paths the activator writes itself; a closure entry there would fight it.
RESERVED = frozenset({STATIC_LINK, "passwd", "group", "shadow", "gshadow", ".pwd.lock"})
RESERVED_IF_SET = {"hostname": "hostname", "localtime": "time_zone", "timezone": "time_zone"}


def check_entries(system: System) -> None:
    """Refuse etc entries on paths the activator manages (docs/closure.md)."""
    for e in system.etc:
        top = e.target.split("/")[0]
        why = None
        if e.target in RESERVED or top == STATIC_LINK:
            why = "declos writes it itself (users.users / users.groups, the static link)"
        elif e.target.startswith("systemd/system/"):
            why = "units come from the closure's units/ (systemd.services and friends)"
        elif e.target in RESERVED_IF_SET and getattr(system, RESERVED_IF_SET[e.target]):
            why = "it comes from networking.hostName / time.timeZone"
        if why:
            raise ClosureError(
                f"{system.top}: environment.etc entry /etc/{e.target} is managed by the"
                f" activator: {why}; remove the entry"
            )


def _etc_want(host: Host, e: EtcEntry) -> Want:
    if e.mode == "symlink":
        return Want(
            target=e.target,
            kind="link",
            source=e.source,
            link=static_link_text(e.target, "etc/" + e.target),
            replace_existing=e.replace_existing,
        )
    return Want(
        target=e.target,
        kind="copy",
        source=e.source,
        data_path=host.resolve(e.source),
        mode=int(e.mode, 8),
        user=e.user,
        group=e.group,
        replace_existing=e.replace_existing,
    )


def _unit_wants(units: Path) -> list[Want]:
    """Every unit, drop-in and .wants link of the closure, linked into /etc/systemd/system."""
    out: list[Want] = []
    if not units.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(units):
        rel_dir = os.path.relpath(dirpath, units)
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in sorted(filenames + links):
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
    return out


def _own_wants(system: System) -> list[Want]:
    """Host name, time zone and the boot-time unit."""
    out: list[Want] = []
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


def wants_for(host: Host, system: System) -> list[Want]:
    """Everything /etc should hold for `system`; raises ClosureError for reserved paths."""
    check_entries(system)
    out = [_etc_want(host, e) for e in system.etc]
    return out + _unit_wants(system.units_dir(host)) + _own_wants(system)
