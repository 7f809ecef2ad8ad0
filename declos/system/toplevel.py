"""Assembles the top-level store path STORE/HASH-declos-system-HOSTNAME (`TOP`).

Layout and system.json are the contract in docs/closure.md (the activator reads them).
TOP is one content-addressed `source` path: the same rendered inputs give the same path,
so a rebuild of an unchanged config only re-stages a few kilobytes and finds the path
already valid. Its references are found by scanning its files and symlinks for the store
paths the renderers produced, as Nix does for a derivation's output.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from declos.system.etc import EtcEntry
from declos.system.units import Unit
from declos.system.writer import mentioned_paths, safe_name

FORMAT = 1


@dataclass
class SystemSpec:
    """Everything rendered from a config, ready to be laid out as TOP."""

    hostname: str
    time_zone: str | None
    activator: str
    sw: str
    variables: dict[str, Any]
    etc: list[EtcEntry]
    units: list[Unit]
    users: dict[str, Any]
    firewall: str | None
    file_systems: list[dict[str, Any]]
    swap_devices: list[dict[str, Any]]
    boot: dict[str, Any]
    activation_scripts: list[dict[str, Any]]
    tmpfiles: str | None
    config_json: str
    extra_refs: set[str] = field(default_factory=set)


def activate_script() -> str:
    """The entry point. TOP's own path cannot appear in TOP (content addressing), so the
    script finds its directory at run time; the activator is reached through TOP/activator."""
    return (
        "#!/bin/sh\n"
        "# declos activation entry point: runs the activator shipped in this closure.\n"
        "# usage: activate switch|boot|test|dry-activate [options]\n"
        'top=$(cd "$(dirname "$0")" && pwd -P) || exit 1\n'
        'PYTHONPATH="$top/activator/lib" exec /usr/bin/env python3 -P -m declos.activation'
        ' --system "$top" "$@"\n'
    )


def system_json(spec: SystemSpec) -> dict[str, Any]:
    unit_names = sorted(u.name for u in spec.units if "/" not in u.name)
    return {
        "format": FORMAT,
        "hostname": spec.hostname,
        "timeZone": spec.time_zone,
        "activator": spec.activator,
        "sw": spec.sw,
        "environment": {"variables": spec.variables},
        "etc": [e.to_json() for e in spec.etc],
        "units": {
            "names": unit_names,
            "dropins": sorted(u.name for u in spec.units if "/" in u.name),
            "wants": _links(spec.units, "wanted_by"),
            "requires": _links(spec.units, "required_by"),
        },
        "users": spec.users,
        "firewall": {"table": "inet declos-fw", "file": "firewall.nft"} if spec.firewall else None,
        "fileSystems": spec.file_systems,
        "swapDevices": spec.swap_devices,
        "boot": spec.boot,
        "activationScripts": spec.activation_scripts,
        "tmpfiles": spec.tmpfiles,
    }


def _links(units: list[Unit], attr: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for unit in units:
        for target in getattr(unit, attr):
            out.setdefault(target, []).append(unit.name)
    return {target: sorted(names) for target, names in sorted(out.items())}


def _write(path: str, text: str, executable: bool = False) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o755 if executable else 0o644)


def stage(spec: SystemSpec, root: str) -> None:
    """Lay TOP out in the directory `root` (which must not exist yet)."""
    os.mkdir(root)
    _write(f"{root}/system.json", json.dumps(system_json(spec), indent=2, sort_keys=True) + "\n")
    _write(f"{root}/config.json", spec.config_json)
    _write(f"{root}/activate", activate_script(), executable=True)
    os.symlink(spec.activator, f"{root}/activator")
    os.symlink(spec.sw, f"{root}/sw")
    if spec.firewall is not None:
        _write(f"{root}/firewall.nft", spec.firewall)
    os.mkdir(f"{root}/etc")
    for entry in spec.etc:
        link = f"{root}/etc/{entry.target}"
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link) or os.path.isdir(link):
            raise ValueError(f"environment.etc: /etc/{entry.target} clashes with another entry's directory")
        os.symlink(entry.source, link)
    os.mkdir(f"{root}/units")
    for unit in spec.units:
        path = f"{root}/units/{unit.name}"
        if os.path.lexists(path):
            raise ValueError(f"unit {unit.name} is defined twice (check systemd.* and fileSystems)")
        _write(path, unit.text)
    for attr, suffix in (("wanted_by", "wants"), ("required_by", "requires")):
        for unit in spec.units:
            for target in getattr(unit, attr):
                link = f"{root}/units/{target}.{suffix}/{unit.name}"
                os.makedirs(os.path.dirname(link), exist_ok=True)
                if not os.path.lexists(link):
                    os.symlink(f"../{unit.name}", link)


def candidates(spec: SystemSpec, store_dir: str) -> set[str]:
    """Store paths TOP must refer to (all of them must be valid)."""
    found = {spec.activator, spec.sw, *spec.extra_refs}
    found.update(e.source for e in spec.etc)
    for text in [spec.firewall or "", *(u.text for u in spec.units)]:
        found.update(mentioned_paths(text, store_dir))
    found.update(a["path"] for a in spec.activation_scripts)
    if spec.tmpfiles:
        found.add(spec.tmpfiles)
    tops: set[str] = set()
    for path in found:
        tops.update(mentioned_paths(path, store_dir))
    return tops


def assemble(store: Any, spec: SystemSpec) -> str:
    """Stage TOP in a temporary directory and add it to the store; returns its path."""
    name = safe_name(f"declos-system-{spec.hostname}")
    refs = candidates(spec, store.store_dir)
    missing = sorted(refs - store.valid_subset(refs))
    if missing:
        raise ValueError(f"internal: the system refers to paths missing from the store: {', '.join(missing)}")
    # config.json may mention any path (e.g. a package of a disabled service): only the
    # valid ones count, as they would for a Nix string's context.
    valid = refs | store.valid_subset(mentioned_paths(spec.config_json, store.store_dir))
    with tempfile.TemporaryDirectory(prefix="declos-top-") as tmp:
        root = os.path.join(tmp, name)
        stage(spec, root)
        return str(store.add_path(root, name=name, scan_references=sorted(valid)))
