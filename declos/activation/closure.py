"""Reading a system closure (docs/closure.md) into typed values.

The format itself is `declos.common.closure_schema` (shared with the builder); this
module finds system.json inside the tree being activated and adds what only the
activator needs (the physical unit directory, whether firewall.nft exists). Every check
happens here, before the host is touched, so a malformed closure fails with the closure
path and the offending key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from declos.activation.errors import ClosureError
from declos.activation.paths import Host
from declos.common.closure_schema import (
    ActivationScript,
    BootSpec,
    EtcEntry,
    FileSystem,
    GroupSpec,
    SchemaError,
    SystemJson,
    UserSpec,
    parse_system_json,
)

__all__ = [
    "ActivationScript",
    "ClosureError",
    "EtcEntry",
    "FileSystem",
    "GroupSpec",
    "System",
    "UserSpec",
    "load",
]


@dataclass(frozen=True)
class System:
    """One closure: its logical top path, the parsed system.json and the unit names."""

    top: str
    spec: SystemJson
    unit_names: tuple[str, ...]
    has_firewall: bool

    @property
    def hostname(self) -> str:
        return self.spec.hostname

    @property
    def time_zone(self) -> str | None:
        return self.spec.time_zone

    @property
    def etc(self) -> tuple[EtcEntry, ...]:
        return self.spec.etc

    @property
    def boot(self) -> BootSpec:
        return self.spec.boot

    @property
    def is_container(self) -> bool:
        return self.spec.boot.is_container

    def units_dir(self, host: Host) -> Path:
        return host.store_phys(self.top) / "units"

    def firewall_file(self, host: Host) -> Path | None:
        return host.store_phys(self.top) / "firewall.nft" if self.has_firewall else None


def load(host: Host, top: str) -> System:
    """Parse TOP/system.json; `top` is the logical store path."""
    top = top.rstrip("/")
    phys = host.store_phys(top)
    meta = phys / "system.json"
    try:
        raw = json.loads(meta.read_text())
    except FileNotFoundError:
        raise ClosureError(f"{top} is not a declos system closure: {meta} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ClosureError(f"{meta}: cannot read: {exc}") from None
    try:
        spec = parse_system_json(raw, str(meta))
    except SchemaError as exc:
        raise ClosureError(str(exc)) from None
    names = spec.unit_names
    units = phys / "units"
    if not names and units.is_dir():
        names = tuple(sorted(n for n in os.listdir(units) if not (units / n).is_dir()))
    return System(
        top=top, spec=spec, unit_names=names, has_firewall=(phys / "firewall.nft").exists()
    )
