"""Network files: module files whose top-level keys are machine names (NixOps' network).

A YAML network file maps machine names to that machine's module (any option, plus
`imports:` relative to the file), with two reserved keys: `network:` (description,
enableRollback) and `defaults:` (a module every machine gets, like colmena's
`defaults`). A Python network file has `config = {"web": {...} or function, ...}` and
module-level `network` / `defaults`. Several files are merged per machine, so a logical
file (what runs) and a physical one (where: `deployment.*`) combine as in NixOps.

Each machine section becomes one module of that machine's evaluation; its errors point
into the network file at the definition's own line (`trivial.yaml:7`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from declos.config import EvaluationError
from declos.config.loaders import load_module
from declos.config.modules import Module, display_path
from declos.deploy.errors import NetworkError

RESERVED = ("network", "defaults")
NETWORK_KEYS = {"description": str, "enableRollback": bool}
MACHINE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


class MachineSection(Module):
    """One machine's (or `defaults:`) part of a network file, located inside that file."""

    def __init__(self, parent: Module, name: str, config: Any, imports: Sequence[Path]) -> None:
        super().__init__(parent.file, f"{parent.key}#{name}", imports=imports, config=config)
        self.kind = parent.kind
        self.parent = parent
        self.section = name
        self.line = parent.locate("config", [name])

    def locate(self, section: str, path: Sequence[str]) -> int | None:
        return self.parent.locate(section, [self.section, *path])


@dataclass
class Network:
    """The merged network: per machine, its modules in file order."""

    files: list[str]
    description: str = ""
    enable_rollback: bool = False
    machines: dict[str, list[Module]] = field(default_factory=dict)
    defaults: list[Module] = field(default_factory=list)

    def modules_of(self, machine: str) -> list[Module]:
        return [*self.defaults, *self.machines[machine]]


def load_network(files: Sequence[str]) -> Network:
    """Load and merge network files; NetworkError (with file:line) on malformed input."""
    if not files:
        raise NetworkError("a deployment needs at least one network file")
    net = Network(files=list(files))
    for f in files:
        _merge_file(net, Path(f))
    if not net.machines:
        shown = ", ".join(display_path(f) for f in files)
        raise NetworkError(
            f"{shown}: the network defines no machine; add a top-level key per machine, "
            "e.g. `webserver: {services.httpd.enable: true}`"
        )
    return net


def _merge_file(net: Network, path: Path) -> None:
    if not path.is_file():
        raise NetworkError(f"network file {display_path(path)} does not exist")
    try:
        module = load_module(path)
    except EvaluationError as exc:
        raise NetworkError(str(exc)) from None
    display = display_path(path)
    if module.imports or module.options:
        raise NetworkError(
            f"{display}:{module.locate('config', ()) or 1}: a network file holds machines, "
            "not `imports:`/`options:`; put them inside a machine (or under `defaults:`)"
        )
    body = module.config
    if not isinstance(body, Mapping):
        raise NetworkError(
            f"{display}: a network file is a mapping of machine names to their configuration"
        )
    for name, value in body.items():
        line = module.locate("config", [str(name)])
        where = f"{display}:{line}" if line else display
        if name == "network":
            _network_section(net, value, where)
            continue
        if name == "defaults":
            net.defaults.append(_section(module, path, name, value, where))
            continue
        if isinstance(name, str) and "." in name:
            raise NetworkError(
                f"{where}: {name!r} looks like an option, but the top-level keys of a network "
                "file are machine names; put options under a machine "
                f"(`webserver: {{{name}: ...}}`) or under `defaults:`"
            )
        if not isinstance(name, str) or not MACHINE_NAME.match(name):
            raise NetworkError(
                f"{where}: {name!r} is not a valid machine name "
                "(letters, digits, '-', '_'; at most 63 characters)"
            )
        net.machines.setdefault(name, []).append(_section(module, path, name, value, where))


def _network_section(net: Network, value: Any, where: str) -> None:
    if not isinstance(value, Mapping):
        raise NetworkError(f"{where}: `network:` must be a mapping (description, enableRollback)")
    for key, item in value.items():
        want = NETWORK_KEYS.get(key)
        if want is None:
            raise NetworkError(
                f"{where}: unknown network attribute {key!r}; "
                f"known: {', '.join(sorted(NETWORK_KEYS))}"
            )
        if not isinstance(item, want):
            raise NetworkError(f"{where}: network.{key} must be a {want.__name__}, not {item!r}")
    net.description = str(value.get("description", net.description))
    net.enable_rollback = bool(value.get("enableRollback", net.enable_rollback))


def _section(module: Module, path: Path, name: str, value: Any, where: str) -> MachineSection:
    if value is None:
        value = {}
    if callable(value):
        return MachineSection(module, name, value, [])
    if not isinstance(value, Mapping):
        raise NetworkError(
            f"{where}: machine {name!r} must be a mapping of options "
            f"(or `imports:`), not {type(value).__name__}"
        )
    config = dict(value)
    imports = config.pop("imports", [])
    if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
        raise NetworkError(f"{where}: {name}.imports must be a list of module paths")
    return MachineSection(module, name, config, [path.parent / i for i in imports])
