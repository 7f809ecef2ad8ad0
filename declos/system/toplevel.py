"""Assembles the top-level store path STORE/HASH-declos-system-HOSTNAME (`TOP`).

Layout and system.json are the contract in docs/closure.md (the activator reads them).
TOP is one content-addressed `source` path: the same rendered inputs give the same path,
and with the memo (declos.system.memo) an unchanged TOP is not even staged again. Its references are found by scanning its files and symlinks for the store
paths the renderers produced, as Nix does for a derivation's output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from declos.common.closure_schema import FORMAT
from declos.system.errors import RenderError
from declos.system.etc import EtcEntry
from declos.system.memo import Memo, Tree
from declos.system.units import Unit
from declos.system.writer import add_tree, mentioned_paths, safe_name

__all__ = ["FORMAT", "SystemSpec", "assemble", "layout", "system_json"]


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
    # Debian package -> minimum host version (the lock's base.libc6 in host-libc mode).
    host_requires: dict[str, str] = field(default_factory=dict)


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
    requires = {"hostRequires": dict(spec.host_requires)} if spec.host_requires else {}
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
        **requires,
    }


def _links(units: list[Unit], attr: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for unit in units:
        for target in getattr(unit, attr):
            out.setdefault(target, []).append(unit.unit)
    return {target: sorted(names) for target, names in sorted(out.items())}


def layout(spec: SystemSpec) -> Tree:
    """TOP as an in-memory tree (see docs/closure.md for the layout)."""
    tree: Tree = {
        "system.json": (
            "file",
            json.dumps(system_json(spec), indent=2, sort_keys=True) + "\n",
            False,
        ),
        "config.json": ("file", spec.config_json, False),
        "activate": ("file", activate_script(), True),
        "activator": ("link", spec.activator),
        "sw": ("link", spec.sw),
    }
    if spec.firewall is not None:
        tree["firewall.nft"] = ("file", spec.firewall, False)
    etc_targets = {f"etc/{entry.target}" for entry in spec.etc}
    for entry in spec.etc:
        parents = entry.target.split("/")[:-1]
        for i in range(1, len(parents) + 1):
            if "etc/" + "/".join(parents[:i]) in etc_targets:
                raise RenderError(
                    f"environment.etc: /etc/{entry.target} is inside another entry's target "
                    f"/etc/{'/'.join(parents[:i])}",
                    ("environment", "etc"),
                )
        tree[f"etc/{entry.target}"] = ("link", entry.source)
    for unit in spec.units:
        rel = f"units/{unit.name}"
        if rel in tree:
            raise ValueError(f"unit {unit.name} is defined twice (check systemd.* and fileSystems)")
        tree[rel] = ("file", unit.text, False)
    for attr, suffix in (("wanted_by", "wants"), ("required_by", "requires")):
        for unit in spec.units:
            for target in getattr(unit, attr):
                tree.setdefault(f"units/{target}.{suffix}/{unit.unit}", ("link", f"../{unit.unit}"))
    return tree


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


def assemble(store: Any, spec: SystemSpec, memo: Memo | None = None) -> str:
    """Add TOP to the store (staged in a temporary directory unless memoised); its path."""
    # An empty hostName keeps the host's name (networking.hostName); TOP is then unnamed.
    name = safe_name(f"declos-system-{spec.hostname}" if spec.hostname else "declos-system")
    refs = candidates(spec, store.store_dir)
    missing = sorted(refs - store.valid_subset(refs))
    if missing:
        raise ValueError(
            f"internal: the system refers to paths missing from the store: {', '.join(missing)}"
        )
    # config.json may mention any path (e.g. a package of a disabled service): only the
    # valid ones count, as they would for a Nix string's context.
    valid = refs | store.valid_subset(mentioned_paths(spec.config_json, store.store_dir))
    return add_tree(store, name, layout(spec), sorted(valid), memo)
