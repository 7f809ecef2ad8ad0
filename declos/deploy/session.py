"""One command on one deployment: its state, network and selection together.

`Session` is what every `declos` fleet command starts from: the deployment from the state,
its network files loaded and evaluated on demand (once, in this process), the machines
selected, their `deployment.*` values and key texts. Talking to hosts is declos.deploy.fleet.

The network and the evaluator are loaded on first use (declos.deploy.evaluate, imported
then): a no-op redeploy answered from the evaluation cache (declos.deploy.evalcache) never
loads the module system, the package set or the builder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import declos.store
from declos.deploy.backends import placed
from declos.deploy.state import Deployment, State
from declos.deploy.targets import MachineTarget, select, target_of


def check_network(files: Sequence[str]) -> None:
    """Load `files` as a network (NetworkError/EvaluationError when they are not one)."""
    from declos.deploy.network import load_network

    load_network(files)


@dataclass
class Selection:
    on: str | None = None
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()


@dataclass
class Session:
    state: State
    deployment: Deployment
    store_root: str | None = None
    with_pkgs: bool = False
    _network: Any = field(default=None, repr=False)
    _evaluation: Any = field(default=None, repr=False)
    _store: Any = field(default=None, repr=False)

    @property
    def store(self) -> Any:
        """The local store (`--store-root`, else the default), opened on first use."""
        if self._store is None:
            self._store = declos.store.Store.open(root=self.store_root)
        return self._store

    @property
    def network(self) -> Any:
        """The deployment's network files, loaded (declos.deploy.network.Network)."""
        if self._network is None:
            from declos.deploy.network import load_network

            self._network = load_network([f.resolve() for f in self.state.files(self.deployment)])
        return self._network

    @property
    def evaluation(self) -> Any:
        """declos.deploy.evaluate.NetworkEvaluation, with `pkgs` on the store when
        `with_pkgs`."""
        if self._evaluation is None:
            from declos.deploy.evaluate import NetworkEvaluation, package_set

            pkgs = package_set(self.store) if self.with_pkgs else None
            self._evaluation = NetworkEvaluation(self.network, pkgs=pkgs)
        return self._evaluation

    def targets(self, names: Sequence[str]) -> dict[str, MachineTarget]:
        """Each machine's target; a machine a backend created is at its recorded address."""
        recorded = self.state.machines(self.deployment)
        return {
            n: placed(
                target_of(n, self.evaluation.evaluation(n).value("deployment")),
                recorded.get(n, {}),
            )
            for n in names
        }

    def deployment_values(self, names: Sequence[str]) -> dict[str, Any]:
        """Each machine's evaluated `deployment.*` (what backends read)."""
        return {n: self.evaluation.evaluation(n).value("deployment") for n in names}

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
