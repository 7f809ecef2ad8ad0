"""Loading module files: one loader per file suffix, and collecting a module set.

The suffix table is the only place that knows which file kinds exist; a new module
format is one more loader here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from declos.config.errors import EvaluationError
from declos.config.locations import display_path
from declos.config.modules import Module
from declos.config.pymodule import load_python_module
from declos.config.yamlmodule import load_yaml_module

LOADERS: Mapping[str, Callable[[Path], Module]] = MappingProxyType(
    {".yaml": load_yaml_module, ".yml": load_yaml_module, ".py": load_python_module}
)
"""File suffix -> loader (read-only)."""

DIRECTORY_ENTRIES = ("default.yaml", "default.py", "module-list.yaml")
"""What a directory given as a module stands for, first found wins."""


def load_module(path: Path, imported_from: str | None = None) -> Module:
    """Load a module file by its suffix (see `LOADERS`), or a directory's default module."""
    origin = f" (imported from `{imported_from}')" if imported_from else ""
    if not path.exists():
        raise EvaluationError(
            f"The module file `{display_path(path)}' does not exist{origin}.\nHint: check the path."
        )
    if path.is_dir():
        for candidate in DIRECTORY_ENTRIES:
            if (path / candidate).is_file():
                return load_module(path / candidate, imported_from)
        raise EvaluationError(
            f"The module directory `{display_path(path)}' has no default.yaml or default.py."
        )
    loader = LOADERS.get(path.suffix)
    if loader is None:
        raise EvaluationError(
            f"`{display_path(path)}' is not a module file: modules are .yaml, .yml or .py files"
            f"{origin}."
        )
    return loader(path)


def collect(roots: Sequence[Module | Path]) -> list[Module]:
    """All modules, each once (by path), depth-first: a module, then its imports in order."""
    seen: set[str] = set()
    out: list[Module] = []

    def visit(item: Module | Path, imported_from: str | None) -> None:
        if isinstance(item, Module):
            module = item
        else:
            key = os.path.realpath(item)
            if key in seen:
                return
            module = load_module(Path(key) if Path(item).exists() else Path(item), imported_from)
        if module.key in seen:
            return
        seen.add(module.key)
        out.append(module)
        for imp in module.imports:
            visit(imp, module.display())

    for root in roots:
        visit(root, None)
    return out
