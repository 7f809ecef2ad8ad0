"""Evaluate and build the selected machines' system closures, in one process.

Evaluation shares the module library (declos.deploy.evaluate) and runs in the calling
thread; each closure is built in a worker thread as soon as its machine is evaluated. The closure's config.json is the evaluated
configuration minus secret material: `deployment.keys.*` keep only where a key goes, never
its `text`, `keyFile` or `keyCommand`, so no secret enters the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from declos.config import Evaluation, EvaluationError
from declos.deploy.evaluate import NetworkEvaluation
from declos.deploy.targets import MachineTarget, target_of
from declos.system.build import (
    SystemBuildError,
    build_from_values,
    config_json_of,
    read_values,
)

SECRET_KEY_FIELDS = ("text", "keyFile", "keyCommand")


def targets(network_ev: NetworkEvaluation, names: Sequence[str]) -> dict[str, MachineTarget]:
    """Each machine's `deployment.*` (evaluates the machines; EvaluationError names one)."""
    out = {}
    for name in names:
        out[name] = target_of(name, network_ev.evaluation(name).value("deployment"))
    return out


def scrubbed_config_json(ev: Evaluation) -> str:
    """config.json without the secret fields of `deployment.keys`."""
    data = json.loads(config_json_of(ev))
    keys = (data.get("deployment") or {}).get("keys") or {}
    for spec in keys.values():
        if isinstance(spec, dict):
            for field in SECRET_KEY_FIELDS:
                spec.pop(field, None)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def build_stream(
    store: Any,
    network_ev: NetworkEvaluation,
    names: Sequence[str],
    *,
    evaluated: Callable[[str, Evaluation], None],
    done: Callable[[str, str | None, str | None], None],
    jobs: int = 4,
) -> None:
    """Evaluate each machine in this thread (the evaluator is not thread-safe) and build it
    in one of `jobs` threads as soon as it is evaluated, so a machine's deploy can start
    while the next ones are still evaluated (colmena's streaming evaluator).

    `evaluated(name, ev)` runs in this thread, before the build (read there whatever else
    the deploy needs from the configuration); `done(name, toplevel, error)` runs in the
    build thread (toplevel None: `error` says why). One machine's failure does not stop
    the others. Returns when every build has finished."""

    def one(name: str, values: dict[str, Any], config_json: str) -> None:
        try:
            result = build_from_values(store, values, config_json=config_json)
        except (SystemBuildError, EvaluationError, OSError, ValueError) as exc:
            done(name, None, f"build failed: {exc}")
            return
        done(name, result.path, None)

    futures = []
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="declos-build") as pool:
        for name in names:
            try:
                ev = network_ev.evaluation(name)
                values, config_json = read_values(ev), scrubbed_config_json(ev)
                evaluated(name, ev)
            except EvaluationError as exc:
                done(name, None, str(exc))
                continue
            futures.append(pool.submit(one, name, values, config_json))
    for f in futures:
        f.result()  # a bug in a build thread is raised here, not lost
