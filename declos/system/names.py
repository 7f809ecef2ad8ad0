"""Names that become file paths or lines, checked before anything is written.

Option *values* that are names are typed in their declarations (unit lists, account
fields, mount points); attribute *names* (the keys of `systemd.services`,
`environment.etc`, `users.users`, ...) cannot be typed there, so the builder checks them
here, first thing, and reports the option and the offending name; `build_system` adds
the definitions' file:line. Together with the safe join in the tree writer (memo.py)
this is belt and braces: no value can make the builder write outside its staging tree
or inject a line into a generated file.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

from declos.system.errors import RenderError

# systemd's unit name characters; a backslash only as a `\xNN` escape; 255 with suffix.
UNIT_STEM = re.compile(r"^(?:[A-Za-z0-9:_.@-]|\\x[0-9a-f]{2}){1,240}$")
# shadow-utils' relaxed rule, the same as common/closure_schema.check_account_name
ACCOUNT = re.compile(r"^(?![-+])(?!\.\.?$)(?![0-9]+$)[^:,/\\\s\x00-\x1f\x7f]{1,32}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MOUNT_POINT = re.compile(r"^(/(?!\.\.?(/|$))[^/\x00-\x1f\x7f]+)*/?$")
UNIT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
# Linux's dev_valid_name (1-15 bytes, no '/', ':' or whitespace, not . or ..), narrowed to
# characters that need no quoting in nft's "..." strings; a trailing '*' is nft's wildcard.
INTERFACE = re.compile(r"^(?!\.\.?$)[A-Za-z0-9_.@+-]{1,15}\*?$")
SECTIONS = {
    "services": ("unitConfig", "serviceConfig"),
    "timers": ("unitConfig", "timerConfig"),
    "sockets": ("unitConfig", "socketConfig"),
}
SNIPPET = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,199}$")
ETC_RESERVED = frozenset(
    {".declos-static", "hostname", "localtime", "timezone"}
    | {"passwd", "group", "shadow", "gshadow", "subuid", "subgid"}
)
ETC_RESERVED_DIRS = ("systemd/system/",)


class InvalidName(RenderError):
    """A name that would become a path or a line is not acceptable."""


def check_names(values: Mapping[str, Any]) -> None:
    """Every attribute name in `values` that becomes a path or a line; raises InvalidName."""
    for kind in ("services", "timers", "sockets"):
        for stem in values.get(f"systemd.{kind}", {}):
            _match(
                UNIT_STEM, stem, ("systemd", kind, stem), "a unit name (letters, digits, ':_.\\@-')"
            )
    _check_unit_sections(values)
    for kind in ("users", "groups"):
        for attr, account in values.get(f"users.{kind}", {}).items():
            # the account is called `name`, which is the attribute name unless set
            name = str(account["name"])
            if not ACCOUNT.fullmatch(name):
                path = ("users", kind, attr) if name == attr else ("users", kind, attr, "name")
                raise InvalidName(
                    f"{'.'.join(path[:-1])}: {path[-1]!r}"
                    + (f" (the account name {name!r})" if name != attr else "")
                    + " is not an account name (useradd's rules: [a-z_][a-z0-9_-]*, at most 32)",
                    path,
                )
    for name in values.get("environment.variables", {}):
        _match(
            ENV_NAME,
            name,
            ("environment", "variables", name),
            "a variable name [A-Za-z_][A-Za-z0-9_]*",
        )
    for stem, service in values.get("systemd.services", {}).items():
        for name in service["environment"]:
            _match(
                ENV_NAME,
                name,
                ("systemd", "services", stem, "environment"),
                "a variable name [A-Za-z_][A-Za-z0-9_]*",
            )
    for name in values.get("system.activationScripts", {}):
        _match(
            SNIPPET,
            name,
            ("system", "activationScripts", name),
            "a snippet name (letters, digits, '_.+-', no '/')",
        )
    for name, entry in values.get("environment.etc", {}).items():
        if entry["enable"]:
            check_etc_target(name, entry["target"])
    for key, fs in values.get("fileSystems", {}).items():
        _match(
            MOUNT_POINT,
            fs["mountPoint"],
            ("fileSystems", key),
            "an absolute, normalised mount point (no '.' or '..')",
        )
    _check_interfaces(values.get("networking.firewall"))
    zone = values.get("time.timeZone")
    if zone is not None:
        check_time_zone(zone)


def _check_unit_sections(values: Mapping[str, Any]) -> None:
    """Keys of unitConfig/serviceConfig/...: a key with a newline would add a line to the unit."""
    for kind, sections in SECTIONS.items():
        for stem, unit in values.get(f"systemd.{kind}", {}).items():
            for section in sections:
                for key in unit[section]:
                    _match(
                        UNIT_KEY,
                        key,
                        ("systemd", kind, stem, section, key),
                        "a unit file key (a letter, then letters, digits and '-')",
                    )


def _check_interfaces(firewall: Mapping[str, Any] | None) -> None:
    """Interface names go into nft's `iifname "..."`: a quote would end the string (the
    values of trustedInterfaces are typed in the firewall module with the same rule)."""
    if firewall is None:
        return
    what = (
        "a network interface name (1-15 of letters, digits and '_.@+-', optionally ending in '*')"
    )
    for name in firewall["interfaces"]:
        _match(INTERFACE, name, ("networking", "firewall", "interfaces", name), what)


def _match(pattern: re.Pattern[str], name: str, path: tuple[str, ...], what: str) -> None:
    if not pattern.fullmatch(name):
        raise InvalidName(f"{'.'.join(path[:-1])}: {path[-1]!r} is not {what}", path)


def check_etc_target(name: str, target: str) -> None:
    """Relative, no `.`/`..`, no control characters, not a file declos manages itself."""
    where = f"environment.etc.{json.dumps(name, ensure_ascii=False)}"
    path = ("environment", "etc", name)
    parts = target.split("/")
    if target.startswith("/") or not target or any(p in ("", ".", "..") for p in parts):
        raise InvalidName(
            f"{where}: target {target!r} must be a relative path below /etc without '..'", path
        )
    if re.search(r"[\x00-\x1f\x7f]", target):
        raise InvalidName(f"{where}: target {target!r} contains a control character", path)
    if target in ETC_RESERVED or target.startswith(ETC_RESERVED_DIRS):
        raise InvalidName(
            f"{where}: /etc/{target} is managed by declos itself (from networking.hostName, "
            "time.timeZone, users.* or systemd.*); set those options instead",
            path,
        )


def check_time_zone(zone: str) -> None:
    """`time.timeZone` must name a zone of the tz database (as the build host knows it)."""
    known = zoneinfo.available_timezones()
    if known and zone not in known:
        close = sorted(z for z in known if z.lower() == zone.lower() or z.endswith("/" + zone))
        hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
        raise InvalidName(
            f"time.timeZone: {zone!r} is not a time zone of the tz database{hint}",
            ("time", "timeZone"),
        )
