"""system.json, the contract between the builder and the activator, as dataclasses.

docs/closure.md describes the format in prose; this module is its one executable
definition: `parse_system_json` checks a parsed system.json completely (types, paths,
account fields) and returns typed values, `SystemJson.to_json` writes it back. Every
check happens here, before the activator touches the host, so a malformed or hostile
closure is refused with the closure path and the offending key, and nothing changes.

Account fields are checked even though the option types check them too: a closure
can be written by hand or by another tool, and a `:` or newline in a passwd field
would add accounts (belt and braces, issue 8 item 3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

FORMAT = 1

ETC_MODE_RE = re.compile(r"^[0-7]{3,4}$")

T = TypeVar("T")


class SchemaError(Exception):
    """system.json does not follow docs/closure.md; the message names file and key."""


@dataclass(frozen=True)
class EtcEntry:
    """One `environment.etc` entry; `target` is relative to /etc."""

    target: str
    source: str
    mode: str = "symlink"  # "symlink" or an octal string such as "0644" (a copy)
    user: str = "root"
    group: str = "root"
    replace_existing: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "source": self.source,
            "mode": self.mode,
            "user": self.user,
            "group": self.group,
            "replaceExisting": self.replace_existing,
        }


@dataclass(frozen=True)
class UserSpec:
    """A declared user with the builder's defaults already applied."""

    name: str
    is_normal_user: bool
    is_system_user: bool
    uid: int | None
    group: str
    extra_groups: tuple[str, ...]
    description: str
    home: str
    create_home: bool
    shell: str
    hashed_password: str | None
    authorized_keys: tuple[str, ...] = ()
    hashed_password_file: str | None = None
    """Read on the target at activation (NixOS): the hash itself never enters the store."""

    def to_json(self) -> dict[str, Any]:
        return {
            "isSystemUser": self.is_system_user,
            "isNormalUser": self.is_normal_user,
            "uid": self.uid,
            "group": self.group,
            "extraGroups": list(self.extra_groups),
            "description": self.description,
            "home": self.home,
            "createHome": self.create_home,
            "shell": self.shell,
            "hashedPassword": self.hashed_password,
            "hashedPasswordFile": self.hashed_password_file,
            "authorizedKeys": list(self.authorized_keys),
        }


@dataclass(frozen=True)
class GroupSpec:
    name: str
    gid: int | None
    members: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"gid": self.gid, "members": list(self.members)}


@dataclass(frozen=True)
class FileSystem:
    mount_point: str
    device: str
    fs_type: str = "auto"
    options: tuple[str, ...] = ()
    auto_format: bool = False
    label: str | None = None
    unit: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "mountPoint": self.mount_point,
            "device": self.device,
            "fsType": self.fs_type,
            "options": list(self.options),
            "autoFormat": self.auto_format,
            "label": self.label,
            "unit": self.unit,
        }


@dataclass(frozen=True)
class ActivationScript:
    name: str
    path: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path}


@dataclass(frozen=True)
class GrubSpec:
    enable: bool = False
    device: str | None = None
    configuration_limit: int = 100
    extra_entries: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "enable": self.enable,
            "device": self.device,
            "configurationLimit": self.configuration_limit,
            "extraEntries": self.extra_entries,
        }


@dataclass(frozen=True)
class BootSpec:
    kernel_params: tuple[str, ...] = ()
    kernel: str | None = None
    initrd: str | None = None
    grub: GrubSpec = field(default_factory=GrubSpec)
    is_container: bool = False  # boot.isContainer: no kernel, bootloader or devices

    def to_json(self) -> dict[str, Any]:
        return {
            "kernelParams": list(self.kernel_params),
            "kernel": self.kernel,
            "initrd": self.initrd,
            "grub": self.grub.to_json(),
            "isContainer": self.is_container,
        }


@dataclass(frozen=True)
class SystemJson:
    """The parsed system.json of one closure."""

    hostname: str
    time_zone: str | None
    activator: str
    sw: str
    etc: tuple[EtcEntry, ...]
    unit_names: tuple[str, ...]
    users: Mapping[str, UserSpec]
    groups: Mapping[str, GroupSpec]
    file_systems: tuple[FileSystem, ...]
    boot: BootSpec
    activation_scripts: tuple[ActivationScript, ...]
    tmpfiles: str | None
    firewall: bool
    variables: Mapping[str, str] = field(default_factory=dict)
    # Debian package -> minimum installed version on the host (`hostRequires`).
    host_requires: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        extra = {"hostRequires": dict(self.host_requires)} if self.host_requires else {}
        return {
            "format": FORMAT,
            "hostname": self.hostname,
            "timeZone": self.time_zone,
            "activator": self.activator,
            "sw": self.sw,
            "environment": {"variables": dict(self.variables)},
            "etc": [e.to_json() for e in self.etc],
            "units": {"names": list(self.unit_names)},
            "users": {
                "users": {n: u.to_json() for n, u in sorted(self.users.items())},
                "groups": {n: g.to_json() for n, g in sorted(self.groups.items())},
            },
            "firewall": {"table": "inet declos-fw", "file": "firewall.nft"}
            if self.firewall
            else None,
            "fileSystems": [f.to_json() for f in self.file_systems],
            "swapDevices": [],
            "boot": self.boot.to_json(),
            "activationScripts": [s.to_json() for s in self.activation_scripts],
            "tmpfiles": self.tmpfiles,
            **extra,
        }


# ---- checking -------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], key: str, typ: type[T], where: str, default: T) -> T:
    """obj[key] if present and not null, checked against `typ`; else `default`."""
    value = obj.get(key)
    if value is None:
        return default
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return value  # type: ignore[return-value]
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise SchemaError(
            f"{where}: key {key!r} must be {typ.__name__}, not {type(value).__name__}"
        )
    return value


def _need(obj: Mapping[str, Any], key: str, typ: type[T], where: str) -> T:
    if key not in obj or obj[key] is None:
        raise SchemaError(f"{where}: missing key {key!r}")
    value: T = _get(obj, key, typ, where, obj[key])
    return value


def _obj(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SchemaError(f"{where}: must be an object, not {type(value).__name__}")
    return value


def _str_list(obj: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    items = _get(obj, key, list, where, [])
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise SchemaError(f"{where}: {key}[{i}] must be a string")
    return tuple(items)


def check_account_field(value: str, what: str) -> str:
    """A passwd/group/shadow field: no `:` (field separator), no newline or other
    control character (record separator, terminal tricks)."""
    bad = [c for c in value if c == ":" or ord(c) < 32 or ord(c) == 127]
    if bad:
        raise SchemaError(
            f"{what} {value!r} contains {bad[0]!r}; account fields may not contain ':',"
            " newlines or control characters"
        )
    return value


def check_account_name(name: str, what: str) -> str:
    """shadow-utils' rule for a user or group name (Debian's relaxed useradd): 1 to 32
    characters, no `:` `,` `/` whitespace or control characters, not starting with `-`
    or `+`, not `.`/`..`, not all digits (it would read as an id). Unicode is allowed."""
    bad = [c for c in name if c in ":,/\\" or c.isspace() or ord(c) < 32 or ord(c) == 127]
    problem = None
    if not name or len(name) > 32:
        problem = "must be 1 to 32 characters long"
    elif bad:
        problem = f"contains {bad[0]!r}"
    elif name[0] in "-+" or name in (".", "..") or name.isdigit():
        problem = "may not start with - or +, be . or .., or be all digits"
    if problem:
        raise SchemaError(f"{what} name {name!r} is not a valid account name: it {problem}")
    return name


def _check_abs_path(value: str, what: str) -> str:
    check_account_field(value, what)
    parts = value.split("/")
    if not value.startswith("/") or ".." in parts:
        raise SchemaError(f"{what} {value!r} must be an absolute path without '..'")
    return value


def _user(name: str, raw: object, where: str) -> UserSpec:
    w = f"{where}: users.users.{name}"
    u = _obj(raw, w)
    check_account_name(name, f"{w}: user")
    normal = _get(u, "isNormalUser", bool, w, False)
    group = _get(u, "group", str, w, "") or ("users" if normal else name)
    check_account_name(group, f"{w}.group: group")
    extra = _str_list(u, "extraGroups", w)
    for g in extra:
        check_account_name(g, f"{w}.extraGroups: group")
    uid = _get(u, "uid", int, w, -1)
    if uid != -1 and not 0 <= uid < 2**32 - 1:
        raise SchemaError(f"{w}.uid: {uid} is out of range")
    password = u.get("hashedPassword")
    if password is not None:
        if not isinstance(password, str):
            raise SchemaError(f"{w}.hashedPassword must be a string")
        check_account_field(password, f"{w}.hashedPassword")
    password_file = u.get("hashedPasswordFile")
    if password_file is not None:
        if not isinstance(password_file, str):
            raise SchemaError(f"{w}.hashedPasswordFile must be a string")
        _check_abs_path(password_file, f"{w}.hashedPasswordFile")
    return UserSpec(
        name=name,
        is_normal_user=normal,
        is_system_user=_get(u, "isSystemUser", bool, w, False),
        uid=None if uid == -1 else uid,
        group=group,
        extra_groups=extra,
        description=check_account_field(_get(u, "description", str, w, ""), f"{w}.description"),
        home=_check_abs_path(
            _get(u, "home", str, w, "") or (f"/home/{name}" if normal else "/nonexistent"),
            f"{w}.home",
        ),
        create_home=_get(u, "createHome", bool, w, normal),
        shell=_check_abs_path(
            _get(u, "shell", str, w, "") or ("/bin/bash" if normal else "/usr/sbin/nologin"),
            f"{w}.shell",
        ),
        hashed_password=password,
        authorized_keys=_str_list(u, "authorizedKeys", w),
        hashed_password_file=password_file,
    )


def _group(name: str, raw: object, where: str) -> GroupSpec:
    w = f"{where}: users.groups.{name}"
    g = _obj(raw, w)
    check_account_name(name, f"{w}: group")
    members = _str_list(g, "members", w)
    for m in members:
        check_account_name(m, f"{w}.members: user")
    gid = _get(g, "gid", int, w, -1)
    if gid != -1 and not 0 <= gid < 2**32 - 1:
        raise SchemaError(f"{w}.gid: {gid} is out of range")
    return GroupSpec(name=name, gid=None if gid == -1 else gid, members=members)


def _check_unique_ids(
    users: Mapping[str, UserSpec], groups: Mapping[str, GroupSpec], where: str
) -> None:
    """Two declared accounts with one id share every file: refuse, as NixOS asserts."""
    for kind, ids in (
        ("uid", {n: u.uid for n, u in users.items() if u.uid is not None}),
        ("gid", {n: g.gid for n, g in groups.items() if g.gid is not None}),
    ):
        owner: dict[int, str] = {}
        for name, num in sorted(ids.items()):
            if num == 0 and name != "root":
                raise SchemaError(
                    f"{where}: {name} has {kind} 0; only root may have {kind} 0"
                    " (a second superuser account is refused)"
                )
            if num in owner:
                raise SchemaError(
                    f"{where}: {owner[num]} and {name} both have {kind} {num}; give each its own"
                )
            owner[num] = name


def _etc(raw: object, where: str) -> EtcEntry:
    e = _obj(raw, where)
    target = _need(e, "target", str, where).strip("/")
    if not target or any(p in ("", ".", "..") for p in target.split("/")):
        raise SchemaError(f"{where}: bad target {e['target']!r} (relative to /etc, no '..')")
    mode = _get(e, "mode", str, where, "symlink")
    if mode != "symlink" and not ETC_MODE_RE.match(mode):
        raise SchemaError(
            f'{where}: mode must be "symlink" or an octal string like "0644", got {mode!r}'
        )
    user = _get(e, "user", str, where, "") or "root"
    group = _get(e, "group", str, where, "") or "root"
    for what, owner in (("user", user), ("group", group)):
        if not (owner.startswith("+") and owner[1:].isdigit()):
            check_account_name(owner, f"{where}: {what}")
    return EtcEntry(
        target=target,
        source=_need(e, "source", str, where),
        mode=mode,
        user=user,
        group=group,
        replace_existing=_get(e, "replaceExisting", bool, where, False),
    )


def _file_system(raw: object, where: str) -> FileSystem:
    f = _obj(raw, where)
    return FileSystem(
        mount_point=_need(f, "mountPoint", str, where),
        device=_need(f, "device", str, where),
        fs_type=_get(f, "fsType", str, where, "") or "auto",
        options=_str_list(f, "options", where),
        auto_format=_get(f, "autoFormat", bool, where, False),
        label=_get(f, "label", str, where, "") or None,
        unit=_get(f, "unit", str, where, "") or None,
    )


def _boot(raw: object, where: str) -> BootSpec:
    b = _obj(raw, where)
    g = _obj(b.get("grub") or {}, f"{where}.grub")
    return BootSpec(
        kernel_params=_str_list(b, "kernelParams", where),
        kernel=_get(b, "kernel", str, where, "") or None,
        initrd=_get(b, "initrd", str, where, "") or None,
        grub=GrubSpec(
            enable=_get(g, "enable", bool, where, False),
            device=_get(g, "device", str, where, "") or None,
            configuration_limit=_get(g, "configurationLimit", int, where, 100),
            extra_entries=_get(g, "extraEntries", str, where, ""),
        ),
        is_container=_get(b, "isContainer", bool, where, False),
    )


def parse_system_json(raw: object, where: str) -> SystemJson:
    """Check a parsed system.json and return it typed; `where` names it in errors."""
    top = _obj(raw, where)
    if top.get("format") != FORMAT:
        raise SchemaError(
            f"{where}: unsupported format {top.get('format')!r}"
            f" (this activator reads format {FORMAT})"
        )
    etc = tuple(
        _etc(e, f"{where}: etc[{i}]") for i, e in enumerate(_get(top, "etc", list, where, []))
    )
    accounts = _obj(top.get("users") or {}, f"{where}: users")
    users = {
        n: _user(n, u, where) for n, u in sorted(_obj(accounts.get("users") or {}, where).items())
    }
    groups = {
        n: _group(n, g, where) for n, g in sorted(_obj(accounts.get("groups") or {}, where).items())
    }
    _check_unique_ids(users, groups, where)
    scripts = []
    for i, s in enumerate(_get(top, "activationScripts", list, where, [])):
        w = f"{where}: activationScripts[{i}]"
        s = _obj(s, w)
        scripts.append(ActivationScript(_need(s, "name", str, w), _need(s, "path", str, w)))
    units = _obj(top.get("units") or {}, f"{where}: units")
    env = _obj(top.get("environment") or {}, f"{where}: environment")
    return SystemJson(
        hostname=_get(top, "hostname", str, where, ""),
        time_zone=_get(top, "timeZone", str, where, "") or None,
        activator=_get(top, "activator", str, where, ""),
        sw=_get(top, "sw", str, where, ""),
        etc=etc,
        unit_names=_str_list(units, "names", where),
        users=users,
        groups=groups,
        file_systems=tuple(
            _file_system(f, f"{where}: fileSystems[{i}]")
            for i, f in enumerate(_get(top, "fileSystems", list, where, []))
        ),
        boot=_boot(top.get("boot") or {}, f"{where}: boot"),
        activation_scripts=tuple(scripts),
        tmpfiles=_get(top, "tmpfiles", str, where, "") or None,
        firewall=top.get("firewall") is not None,
        variables=dict(_obj(env.get("variables") or {}, f"{where}: environment.variables")),
        host_requires=_host_requires(top.get("hostRequires") or {}, f"{where}: hostRequires"),
    )


_DEB_NAME = re.compile(r"^[a-z0-9][a-z0-9+.\-]*$")
_DEB_VERSION = re.compile(r"^([0-9]+:)?[0-9][A-Za-z0-9.+~\-]*$")


def _host_requires(raw: object, where: str) -> dict[str, str]:
    """`{"libc6": "2.36-9+deb12u14"}`: Debian package names and minimum versions."""
    out = {}
    for name, version in _obj(raw, where).items():
        if not _DEB_NAME.match(name) or not isinstance(version, str):
            raise SchemaError(f"{where}: {name!r} is not a Debian package name with a version")
        if not _DEB_VERSION.match(version):
            raise SchemaError(f"{where}.{name}: {version!r} is not a Debian version")
        out[name] = version
    return out
