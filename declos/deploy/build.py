"""Evaluate and build the selected machines' system closures, in one process.

Evaluation shares the module library (declos.deploy.evaluate); closures are built in
parallel threads into the one local store. The closure's config.json is the evaluated
configuration minus secret material: `deployment.keys.*` keep only where a key goes, never
its `text`, `keyFile` or `keyCommand`, so no secret enters the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Built:
    name: str
    toplevel: str
    warnings: tuple[str, ...]


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


def build_all(
    store: Any,
    network_ev: NetworkEvaluation,
    names: Sequence[str],
    *,
    jobs: int = 4,
    on_done: Callable[[str, str | None, str | None], None] | None = None,
) -> tuple[dict[str, Built], dict[str, str]]:
    """Build every machine; returns (built by name, error message by name).

    Everything that reads the configuration (evaluation, option values, config.json) runs
    first, in this thread: the evaluator is not thread-safe. The builds then run in
    `jobs` threads. One machine's failure does not stop the others."""
    errors: dict[str, str] = {}
    inputs: dict[str, tuple[dict[str, Any], str, list[str]]] = {}
    for name in names:
        try:
            ev = network_ev.evaluation(name)
            inputs[name] = (read_values(ev), scrubbed_config_json(ev), list(ev.warnings or []))
        except EvaluationError as exc:
            errors[name] = str(exc)
            if on_done:
                on_done(name, None, str(exc))
    built: dict[str, Built] = {}

    def one(name: str) -> None:
        values, config_json, warnings = inputs[name]
        try:
            result = build_from_values(store, values, config_json=config_json)
        except (SystemBuildError, EvaluationError, OSError, ValueError) as exc:
            errors[name] = f"build failed: {exc}"
            if on_done:
                on_done(name, None, errors[name])
            return
        all_warnings = tuple(dict.fromkeys([*warnings, *result.warnings]))
        built[name] = Built(name, result.path, all_warnings)
        if on_done:
            on_done(name, result.path, None)

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="declos-build") as pool:
        list(pool.map(one, list(inputs)))
    return built, errors
