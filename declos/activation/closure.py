"""Reading a system closure (docs/closure.md) into typed values.

Everything the later steps need is checked here once, so a malformed closure fails
before the host is touched, with the closure path and the offending key in the error.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from declos.activation.paths import Host

FORMAT = 1


class ClosureError(Exception):
    """The --system path is not a usable declos system closure."""


@dataclass(frozen=True)
class EtcEntry:
    target: str
    source: str
    mode: str = "symlink"
    user: str = "root"
    group: str = "root"
    replace_existing: bool = False


@dataclass(frozen=True)
class FileSystem:
    mount_point: str
    device: str
    fs_type: str
    options: tuple[str, ...] = ()
    auto_format: bool = False
    label: str | None = None


@dataclass(frozen=True)
class ActivationScript:
    name: str
    path: str


@dataclass
class System:
    """One closure: its top path plus the parsed system.json."""

    top: str
    hostname: str
    time_zone: str | None
    etc: list[EtcEntry]
    unit_names: list[str]
    users: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    file_systems: list[FileSystem]
    boot: dict[str, Any]
    activation_scripts: list[ActivationScript]
    tmpfiles: str | None
    has_firewall: bool
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def units_dir(self, host: Host) -> Path:
        return host.store_phys(self.top) / "units"

    def firewall_file(self, host: Host) -> Path | None:
        return host.store_phys(self.top) / "firewall.nft" if self.has_firewall else None


def _need(obj: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise ClosureError(f"{where}: missing key {key!r}")
    if not isinstance(obj[key], typ):
        raise ClosureError(f"{where}: key {key!r} has the wrong type ({type(obj[key]).__name__})")
    return obj[key]


def load(host: Host, top: str) -> System:
    """Parse TOP/system.json; `top` is the logical store path."""
    top = top.rstrip("/")
    phys = host.store_phys(top)
    meta = phys / "system.json"
    where = str(meta)
    try:
        raw = json.loads(meta.read_text())
    except FileNotFoundError:
        raise ClosureError(f"{top} is not a declos system closure: {meta} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ClosureError(f"{where}: cannot read: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ClosureError(
            f"{where}: unsupported format {raw.get('format') if isinstance(raw, dict) else raw!r}"
            f" (this activator reads format {FORMAT})"
        )
    etc = []
    for i, e in enumerate(_need(raw, "etc", list, where)):
        w = f"{where}: etc[{i}]"
        target = _need(e, "target", str, w).strip("/")
        if not target or ".." in target.split("/"):
            raise ClosureError(f"{w}: bad target {e['target']!r}")
        mode = e.get("mode", "symlink")
        if mode != "symlink" and not (
            isinstance(mode, str) and mode.isdigit() and len(mode) in (3, 4)
        ):
            raise ClosureError(
                f'{w}: mode must be "symlink" or an octal string like "0644", got {mode!r}'
            )
        etc.append(
            EtcEntry(
                target=target,
                source=_need(e, "source", str, w),
                mode=mode,
                user=e.get("user") or "root",
                group=e.get("group") or "root",
                replace_existing=bool(e.get("replaceExisting", False)),
            )
        )
    units = raw.get("units") or {}
    names = list(units.get("names") or [])
    if not names and (phys / "units").is_dir():
        names = sorted(n for n in os.listdir(phys / "units") if not (phys / "units" / n).is_dir())
    users = raw.get("users") or {}
    fss = []
    for i, f in enumerate(raw.get("fileSystems") or []):
        w = f"{where}: fileSystems[{i}]"
        fss.append(
            FileSystem(
                mount_point=_need(f, "mountPoint", str, w),
                device=_need(f, "device", str, w),
                fs_type=f.get("fsType") or "auto",
                options=tuple(f.get("options") or ()),
                auto_format=bool(f.get("autoFormat", False)),
                label=f.get("label"),
            )
        )
    scripts = [
        ActivationScript(name=_need(s, "name", str, where), path=_need(s, "path", str, where))
        for s in raw.get("activationScripts") or []
    ]
    return System(
        top=top,
        hostname=raw.get("hostname") or "",
        time_zone=raw.get("timeZone"),
        etc=etc,
        unit_names=names,
        users=dict(users.get("users") or {}),
        groups=dict(users.get("groups") or {}),
        file_systems=fss,
        boot=dict(raw.get("boot") or {}),
        activation_scripts=scripts,
        tmpfiles=raw.get("tmpfiles"),
        has_firewall=(phys / "firewall.nft").exists(),
        raw=raw,
    )
