"""Make every store path the configuration mentions exist before anything refers to it.

Option values may hold package objects (Derivations, Sources) or strings that mention
their paths (`"{{ pkgs.hello }}/bin/hello"`). A rendered unit or etc file that mentions
a path must only be added once that path is valid, so all of them are realised first,
in one `store.realise` (the store builds independent derivations in parallel). Strings
are resolved through the evaluation's string context (the `Pkgs.context` of the package
set the modules used; see declos.store.derivation.StringContext).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from declos.store.derivation import Derivation, Source, StringContext


def mentioned_inputs(
    values: Any, store_dir: str, context: StringContext | None
) -> tuple[list[Any], list[Any]]:
    """(derivations, sources) found in the values, each once, in first-seen order."""

    drvs: dict[int, Any] = {}
    sources: dict[int, Any] = {}

    def add(owner: Any) -> None:
        if isinstance(owner, Derivation):
            drvs.setdefault(id(owner), owner)
        elif isinstance(owner, Source):
            sources.setdefault(id(owner), owner)

    def walk(value: Any) -> None:
        if isinstance(value, Derivation | Source):
            add(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif context is not None and isinstance(value, str) and store_dir + "/" in value:
            for owner, _output in context.owners(value, store_dir):
                add(owner)

    walk(values)
    return list(drvs.values()), list(sources.values())


def realise_inputs(
    store: Any, values: Any, extra: Iterable[Any] = (), context: StringContext | None = None
) -> list[str]:
    """Add mentioned sources and realise mentioned derivations (plus `extra`); their paths."""
    drvs, sources = mentioned_inputs(values, store.store_dir, context)
    for source in sources:
        if not store.is_valid(source.out_path):
            store.add_source(source)
    todo = [*drvs, *extra]
    return list(store.realise(todo)) if todo else []
