"""One command on one deployment: its state, network and selection together.

`Session` is what every `declos` fleet command starts from: the deployment from the state,
its network files loaded and evaluated on demand (once, in this process), the machines
selected, their `deployment.*` values and key texts. Talking to hosts is declos.deploy.fleet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from declos.deploy.evaluate import NetworkEvaluation
from declos.deploy.network import Network, load_network
from declos.deploy.state import Deployment, State
from declos.deploy.targets import MachineTarget, select, target_of


@dataclass
class Selection:
    on: str | None = None
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()


@dataclass
class Session:
    state: State
    deployment: Deployment
    pkgs: Any = None
    _network: Network | None = field(default=None, repr=False)
    _evaluation: NetworkEvaluation | None = field(default=None, repr=False)

    @property
    def network(self) -> Network:
        if self._network is None:
            self._network = load_network([f.resolve() for f in self.state.files(self.deployment)])
        return self._network

    @property
    def evaluation(self) -> NetworkEvaluation:
        if self._evaluation is None:
            self._evaluation = NetworkEvaluation(self.network, pkgs=self.pkgs)
        return self._evaluation

    def targets(self, names: Sequence[str]) -> dict[str, MachineTarget]:
        return {n: target_of(n, self.evaluation.evaluation(n).value("deployment")) for n in names}

    def select(self, sel: Selection) -> list[str]:
        names = sorted(self.network.machines)
        tags: dict[str, Sequence[str]] = {}
        if sel.on and "@" in sel.on:
            tags = {n: t.tags for n, t in self.targets(names).items()}
        return select(names, tags, on=sel.on, include=sel.include, exclude=sel.exclude)

    def key_texts(self, names: Sequence[str]) -> dict[str, dict[str, str | None]]:
        """`deployment.keys.*.text` per machine, held in memory only for the upload."""
        out = {}
        for n in names:
            keys = self.evaluation.evaluation(n).value("deployment.keys")
            out[n] = {k: v.get("text") for k, v in keys.items()}
        return out
