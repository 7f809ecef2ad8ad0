"""systemd unit files rendered the way NixOS renders them (nixos/lib/systemd-lib.nix).

The activator compares old and new unit files key by key, as switch-to-configuration
does, so the text must be stable: sections in a fixed order, keys sorted by name (Nix
attribute sets are sorted), one line per list element, `true`/`false` for booleans.
Unlike NixOS we do not emit the stray blank lines of its templates; one blank line
separates sections.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from declos.system.errors import RenderError

_ESCAPE_OK = re.compile(r"[A-Za-z0-9:_.]")
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


class UnitError(RenderError):
    """A unit definition that cannot be rendered (bad name, value with a newline, ...)."""


@dataclass(frozen=True)
class Unit:
    """One rendered unit: its file name, text, and the targets that pull it in.

    `wanted_by`/`required_by` become TARGET.wants/NAME (TARGET.requires/NAME) symlinks in
    the closure's units/ directory, exactly as NixOS realises `wantedBy`; no [Install].
    """

    name: str
    text: str
    wanted_by: tuple[str, ...] = ()
    required_by: tuple[str, ...] = ()
    store_refs: tuple[str, ...] = field(default=(), compare=False)

    @property
    def unit(self) -> str:
        """The unit this file belongs to: NAME, also for a drop-in `NAME.d/FILE.conf`
        (whose unit file the distribution ships; a `.wants` link to it is made by name)."""
        return self.name.split("/", 1)[0].removesuffix(".d")


def to_option(value: Any) -> str:
    """Nix's toOption: booleans as true/false, everything else via toString."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def attrs_to_section(attrs: Mapping[str, Any]) -> str:
    """Render KEY=VALUE lines, keys sorted, list values one line per element; None is omitted."""
    lines: list[str] = []
    for key in sorted(attrs):
        value = attrs[key]
        if not _KEY.fullmatch(key):
            raise UnitError(f"{key!r} is not a unit file key (letters, digits and '-')")
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is None:
                continue
            text = to_option(item)
            if "\n" in text:
                raise UnitError(f"value of {key}= contains a newline: {text!r}")
            lines.append(f"{key}={text}\n")
    return "".join(lines)


def escape_name(text: str) -> str:
    """systemd-escape without --path: '/' becomes '-', other bytes outside [A-Za-z0-9:_.] \\xHH."""
    out: list[str] = []
    for index, char in enumerate(text):
        if char == "/":
            out.append("-")
        elif (index == 0 and char == ".") or not _ESCAPE_OK.match(char):
            out.extend(f"\\x{byte:02x}" for byte in char.encode())
        else:
            out.append(char)
    return "".join(out)


def escape_path(path: str) -> str:
    """systemd-escape --path (and NixOS escapeSystemdPath): the unit name stem for a path."""
    parts = [part for part in path.split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise UnitError(f"path {path!r} contains '.' or '..' components")
    if not parts:
        return "-"
    return escape_name("/".join(parts))


def unit_section(unit_config: Mapping[str, Any]) -> str:
    return "[Unit]\n" + attrs_to_section(unit_config)


def environment_lines(environment: Mapping[str, Any]) -> str:
    """Environment="K=V" lines sorted by K, quoted as Nix's toJSON does; None is unset."""
    lines: list[str] = []
    for key in sorted(environment):
        value = environment[key]
        if value is None:
            continue
        lines.append(
            "Environment=" + json.dumps(f"{key}={to_option(value)}", ensure_ascii=False) + "\n"
        )
    return "".join(lines)


def service_text(
    unit_config: Mapping[str, Any],
    environment: Mapping[str, Any],
    service_config: Mapping[str, Any],
    *,
    reload_if_changed: bool = False,
    restart_if_changed: bool = True,
    stop_if_changed: bool = True,
) -> str:
    """NixOS serviceToUnit: [Unit], then [Service] with environment, X-*IfChanged, serviceConfig."""
    body = environment_lines(environment)
    if reload_if_changed:
        body += "X-ReloadIfChanged=true\n"
    elif not restart_if_changed:
        body += "X-RestartIfChanged=false\n"
    if not stop_if_changed:
        body += "X-StopIfChanged=false\n"
    body += attrs_to_section(service_config)
    return unit_section(unit_config) + "\n[Service]\n" + body


def typed_text(kind: str, unit_config: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """Units with one type section: [Timer], [Socket], [Mount], [Swap], [Path]; targets have none."""
    text = unit_section(unit_config)
    if kind == "target":
        return text
    return text + f"\n[{kind.capitalize()}]\n" + attrs_to_section(config)


def common_unit_config(name: str, definition: Mapping[str, Any]) -> dict[str, Any]:
    """The [Unit] keys every unit kind derives from its common options (unit-options.nix)."""
    unit: dict[str, Any] = {}
    if definition["description"]:
        unit["Description"] = definition["description"]
    for option, key in (
        ("documentation", "Documentation"),
        ("requires", "Requires"),
        ("wants", "Wants"),
        ("after", "After"),
        ("before", "Before"),
        ("bindsTo", "BindsTo"),
        ("partOf", "PartOf"),
        ("conflicts", "Conflicts"),
        ("requisite", "Requisite"),
        ("onFailure", "OnFailure"),
    ):
        values = list(definition[option])
        if values:
            unit[key] = values
    for key, value in definition["unitConfig"].items():
        unit[key] = value
    check_unit_name(name)
    return unit


_UNIT_NAME = re.compile(
    r"^[A-Za-z0-9:_.\\@-]+\.(service|socket|timer|target|mount|swap|path|slice|automount)$"
)


def check_unit_name(name: str) -> None:
    if not _UNIT_NAME.match(name):
        raise UnitError(
            f"invalid unit name {name!r}: use letters, digits and ':-_.\\@', ending in a unit type "
            "such as .service or .timer"
        )


def names(values: Iterable[Any]) -> tuple[str, ...]:
    """Target names as given; duplicates dropped, order kept."""
    return tuple(dict.fromkeys(str(v) for v in values))
