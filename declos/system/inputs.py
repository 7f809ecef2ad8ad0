"""Make every store path the configuration mentions exist before anything refers to it.

Option values may hold package objects (Derivations, Sources) or strings that mention
their paths (`"{{ pkgs.hello }}/bin/hello"`). A rendered unit or etc file that mentions
a path must only be added once that path is valid, so all of them are realised first,
in one `store.realise` (the store builds independent derivations in parallel). Strings
are resolved through the store's registry of paths created in this process (Nix's
string context, see declos.store.derivation.KNOWN).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def mentioned_inputs(values: Any, store_dir: str) -> tuple[list[Any], list[Any]]:
    """(derivations, sources) found in the values, each once, in first-seen order."""
    from declos.store.derivation import KNOWN, Derivation, Source

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
        elif isinstance(value, str) and store_dir + "/" in value:
            for owner, _output in KNOWN.context(value, store_dir):
                add(owner)

    walk(values)
    return list(drvs.values()), list(sources.values())


def realise_inputs(store: Any, values: Any, extra: Iterable[Any] = ()) -> list[str]:
    """Add mentioned sources and realise mentioned derivations (plus `extra`); their paths."""
    drvs, sources = mentioned_inputs(values, store.store_dir)
    for source in sources:
        if not store.is_valid(source.out_path):
            store.add_source(source)
    todo = [*drvs, *extra]
    return list(store.realise(todo)) if todo else []
