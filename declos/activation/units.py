"""Parsing and comparing systemd unit files the way switch-to-configuration does.

The comparison decides between leaving a running unit alone, reloading it and restarting
it, so it follows NixOS's `compare_units` exactly: [Install] and a fixed set of
descriptive [Unit] keys are ignored; X-Reload-Triggers, an added or changed
ExecReload and changed mount Options ask only for a reload; anything else (including
X-Restart-Triggers) asks for a restart.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path

Unit = dict[str, dict[str, list[str]]]

IGNORED_UNIT_KEYS = frozenset(
    {
        "Description",
        "Documentation",
        "OnFailure",
        "OnSuccess",
        "OnFailureJobMode",
        "IgnoreOnIsolate",
        "StopWhenUnneeded",
        "RefuseManualStart",
        "RefuseManualStop",
        "AllowIsolate",
        "CollectMode",
        "SourcePath",
    }
)


class Comparison(enum.Enum):
    EQUAL = "equal"
    RELOAD = "reload"
    RESTART = "restart"


def parse_text(text: str, into: Unit | None = None) -> Unit:
    """Parse one unit file or drop-in; with `into`, merge as systemd merges drop-ins
    (values append; an empty assignment resets the key)."""
    unit: Unit = into if into is not None else {}
    section: str | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip() if pending else raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            unit.setdefault(section, {})
            continue
        if section is None or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        values = unit[section].setdefault(key, [])
        if value == "":
            values.clear()
        else:
            values.append(value)
    return unit


def template_of(name: str) -> str:
    """foo@bar.service is read from foo@.service when it has no file of its own."""
    if "@" in name:
        prefix, _, rest = name.partition("@")
        suffix = rest[rest.rfind(".") :] if "." in rest else ""
        return f"{prefix}@{suffix}"
    return name


def unit_file(units_dir: Path, name: str) -> Path | None:
    for cand in (name, template_of(name)):
        p = units_dir / cand
        if p.exists():
            return p
    return None


def dropin_dirs(units_dir: Path, name: str) -> list[Path]:
    return [
        d
        for d in (units_dir / f"{n}.d" for n in dict.fromkeys((template_of(name), name)))
        if d.is_dir()
    ]


def load_unit(units_dir: Path, name: str) -> Unit | None:
    """Parse a unit with its drop-ins (units_dir/NAME.d/*.conf, sorted), or None.

    A closure may carry only drop-ins for a unit the distribution ships (ssh.service);
    then the drop-ins alone are what declos controls and what is compared."""
    path = unit_file(units_dir, name)
    dirs = dropin_dirs(units_dir, name)
    if path is None and not dirs:
        return None
    unit = parse_text(path.read_text()) if path is not None else {}
    for d in dirs:
        for conf in sorted(os.listdir(d)):
            if conf.endswith(".conf"):
                parse_text((d / conf).read_text(), into=unit)
    return unit


def has_own_file(units_dir: Path, name: str) -> bool:
    return unit_file(units_dir, name) is not None


def compare(old: Unit, new: Unit) -> Comparison:
    result = Comparison.EQUAL
    sections = (set(old) | set(new)) - {"Install"}
    for section in sorted(sections):
        o = old.get(section)
        n = new.get(section)
        if o is None or n is None:
            keys = (n or o or {}).keys()
            if section == "Unit" and all(k in IGNORED_UNIT_KEYS for k in keys):
                continue
            return Comparison.RESTART
        for key in sorted(set(o) | set(n)):
            ov, nv = o.get(key), n.get(key)
            if ov == nv:
                continue
            if section == "Unit" and key in IGNORED_UNIT_KEYS:
                continue
            if section == "Unit" and key == "X-Reload-Triggers":
                result = Comparison.RELOAD
                continue
            if section == "Service" and key == "ExecReload":
                if nv is None:
                    continue
                result = Comparison.RELOAD
                continue
            if section == "Mount" and key == "Options":
                result = Comparison.RELOAD
                continue
            return Comparison.RESTART
    return result


def flag(
    unit: Unit | None, key: str, default: bool, sections: tuple[str, ...] = ("Service", "Unit")
) -> bool:
    """A boolean X-*/systemd key; the last assignment wins, as in systemd."""
    if unit is None:
        return default
    for s in sections:
        vals = unit.get(s, {}).get(key)
        if vals:
            return vals[-1].lower() in ("1", "yes", "true", "on")
    return default


def values(unit: Unit | None, section: str, key: str) -> list[str]:
    if unit is None:
        return []
    out: list[str] = []
    for v in unit.get(section, {}).get(key, []):
        out.extend(v.split())
    return out
