"""Evaluating a network: one configuration per machine, in one process.

The standard module library is loaded once and shared by every machine's evaluation.
Each machine's modules get `nodes` (NixOps' name): `nodes.web.config.networking.hostName`
reads another machine's final configuration, evaluated on first use and memoized, so a
load balancer can list its backends. A machine's own evaluation is registered before its
modules run, so reads that loop back to it see its (demand-driven) configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import declos.config
from declos.config import Evaluation, EvaluationError, Runtime, gc_paused, stdlib_entry
from declos.config.loaders import collect
from declos.config.modules import InlineModule, Module
from declos.config.properties import mk_override
from declos.deploy.errors import NetworkError
from declos.deploy.network import Network
from declos.pkgs import Pkgs

CORE = Path(declos.config.__file__).with_name("core.py")
# NixOps' priority for the machine-name host name (mkOverride 900): above option defaults
# (1500) and mk_default (1000), below any plain definition (100).
MACHINE_NAME_PRIORITY = 900
_DNS_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def machine_name_module(name: str) -> list[Module]:
    """NixOps names a machine's host after its key in the network (`networking.hostName =
    mkOverride 900 name`), so `webserver: {...}` comes up as `webserver`, not `declos`.
    A key that is no DNS label (an underscore, say) leaves the option's own default."""
    if not _DNS_LABEL.match(name):
        return []
    config = {"networking": {"hostName": mk_override(MACHINE_NAME_PRIORITY, name)}}
    return [InlineModule("<network machine name>", f"declos-machine-name:{name}", config=config)]


def package_set(store: Any) -> Pkgs:
    """`pkgs` for the machines' modules, building into `store`."""
    return Pkgs(store)


class Node:
    """`nodes.NAME`: `.config` is that machine's configuration, evaluated on first read."""

    def __init__(self, network: NetworkEvaluation, name: str) -> None:
        self._network = network
        self.name = name

    @property
    def config(self) -> Any:
        return self._network.evaluation(self.name).config


class Nodes(Mapping[str, Node]):
    """Every machine of the network by name (a read-only mapping, attribute access too)."""

    def __init__(self, network: NetworkEvaluation) -> None:
        self._network = network

    def __getitem__(self, name: str) -> Node:
        if name not in self._network.network.machines:
            known = ", ".join(sorted(self._network.network.machines))
            raise KeyError(f"nodes has no machine {name!r} (machines: {known})")
        return Node(self._network, name)

    def __getattr__(self, name: str) -> Node:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(exc.args[0]) from None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._network.network.machines))

    def __len__(self) -> int:
        return len(self._network.network.machines)


class NetworkEvaluation:
    """Lazily evaluated machines of one network; `evaluation(name)` is memoized."""

    def __init__(
        self, network: Network, *, pkgs: Any = None, special_args: Mapping[str, Any] | None = None
    ) -> None:
        self.network = network
        self.pkgs = pkgs
        self.special = dict(special_args or {})
        self.nodes = Nodes(self)
        self._evaluations: dict[str, Evaluation] = {}
        self._finished: set[str] = set()
        self._library: list[Module] | None = None

    def library(self) -> list[Module]:
        if self._library is None:
            entry = stdlib_entry()
            if not entry.is_file():
                raise NetworkError(
                    f"the standard module library was not found at {entry}; set DECLOS_MODULES"
                )
            self._library = collect([CORE, entry])
        return self._library

    def evaluation(self, name: str) -> Evaluation:
        """The evaluated configuration of machine `name` (EvaluationError names the machine)."""
        ev = self._evaluations.get(name)
        if ev is not None:
            return ev
        special = dict(self.special)
        special["nodes"] = self.nodes
        if self.pkgs is not None:
            special["pkgs"] = self.pkgs
        try:
            modules = collect(
                [*self.library(), *machine_name_module(name), *self.network.modules_of(name)]
            )
            with gc_paused():
                ev = Evaluation(Runtime(special), modules).setup()
                self._evaluations[name] = ev
                ev.run_pending()
                ev.check_declared()
                _check_assertions(ev)
        except EvaluationError as exc:
            self._evaluations.pop(name, None)
            raise EvaluationError(f"machine {name!r}: {exc}") from None
        self._finished.add(name)
        return ev

    def evaluate_all(self, names: Sequence[str]) -> dict[str, Evaluation]:
        return {n: self.evaluation(n) for n in names}


def _check_assertions(ev: Evaluation) -> None:
    """As declos.config.evaluate does: failed assertions abort; warnings are collected."""
    failed = [a["message"] for a in ev.config.assertions if not a["assertion"]]
    if failed:
        raise EvaluationError("Failed assertions:\n" + "\n".join(f"- {m}" for m in failed))
    for warning in ev.config.warnings:
        if warning not in ev.warnings:
            ev.warnings.append(warning)
