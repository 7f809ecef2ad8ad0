"""Network generations (`network.enableRollback`, NixOps' semantics).

With `network.enableRollback: true` every deploy that activated something records a
generation of the whole network: each machine's closure as the state knows it after the
deploy. The closures are kept in the local store by GC roots
(`gcroots/declos-deploy-UUID-N-MACHINE`), so `declos rollback -d NAME N` can copy and
activate generation N again even where the machines no longer have it (the normal
pipeline, without evaluation). `list-generations` then lists these generations.
Without `enableRollback` nothing is recorded and `rollback N` / `list-generations` use
each machine's own system generations.

Stored as the deployment attribute `generations`: a list of `{"number", "created",
"machines": {NAME: TOPLEVEL}, "storeRoot"}` (docs/deploy.md; `storeRoot` is the
`--store-root` of the deploy, null for the default store).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from declos.deploy.errors import DeployError
from declos.deploy.state import Deployment, State

ATTR = "generations"


@dataclass(frozen=True)
class NetworkGeneration:
    number: int
    created: float
    machines: dict[str, str]
    store_root: str | None = None  # the local store holding the closures (its --store-root)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))
        names = " ".join(
            f"{n}={t.rsplit('/', 1)[-1][:12]}" for n, t in sorted(self.machines.items())
        )
        return f"{self.number:>5}   {when}   {names}"


def generations(state: State, dep: Deployment) -> list[NetworkGeneration]:
    raw = state.attrs(dep).get(ATTR) or []
    return [
        NetworkGeneration(
            int(g["number"]), float(g["created"]), dict(g["machines"]), g.get("storeRoot")
        )
        for g in raw
    ]


def record(state: State, dep: Deployment, store: Any) -> NetworkGeneration:
    """A new generation of every machine that is up, with GC roots for its closures."""
    machines = {
        name: str(a["toplevel"])
        for name, a in state.machines(dep).items()
        if a.get("status") == "up" and a.get("toplevel")
    }
    old = generations(state, dep)
    number = (old[-1].number + 1) if old else 1
    gen = NetworkGeneration(number, time.time(), machines, store.root)
    for name, top in machines.items():
        store.add_root(f"declos-deploy-{dep.uuid}-{gen.number}-{name}", top)
    raw = [
        {
            "number": g.number,
            "created": g.created,
            "machines": g.machines,
            "storeRoot": g.store_root,
        }
        for g in [*old, gen]
    ]
    state.set_attr(dep, ATTR, raw)
    return gen


def find(state: State, dep: Deployment, number: int) -> NetworkGeneration:
    gens = generations(state, dep)
    for g in gens:
        if g.number == number:
            return g
    have = ", ".join(str(g.number) for g in gens) or "none yet"
    raise DeployError(
        f"deployment {dep.name!r} has no network generation {number} (generations: {have})"
    )
