"""Loading module files: one loader per file suffix, and collecting a module set.

The suffix table is the only place that knows which file kinds exist; a new module
format is one more loader here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.locations import display_path
from declos.config.modules import InlineModule, Module, check_class, parameter_names
from declos.config.properties import Property
from declos.config.pymodule import load_python_module
from declos.config.yamlmodule import load_yaml_module

LOADERS: Mapping[str, Callable[[Path], Module]] = MappingProxyType(
    {".yaml": load_yaml_module, ".yml": load_yaml_module, ".py": load_python_module}
)
"""File suffix -> loader (read-only)."""

DIRECTORY_ENTRIES = ("default.yaml", "default.py", "module-list.yaml")
"""What a directory given as a module stands for, first found wins."""


def load_module(path: Path, imported_from: str | None = None) -> Module:
    """Load a module file by its suffix (see `LOADERS`), or a directory's default module.

    `imported_from` is the importing module's file:line; errors about the imported path
    start with it. Only regular files are read: a FIFO or device would block or never end.
    """
    where = f"{imported_from}: " if imported_from else ""
    try:
        mode = path.stat().st_mode
    except OSError:
        raise EvaluationError(
            f"{where}The module file `{display_path(path)}' does not exist.\n"
            "Hint: check the path (imports are relative to the importing file)."
        ) from None
    if stat.S_ISDIR(mode):
        for candidate in DIRECTORY_ENTRIES:
            if (path / candidate).is_file():
                return load_module(path / candidate, imported_from)
        raise EvaluationError(
            f"{where}The module directory `{display_path(path)}' has no "
            f"{', '.join(DIRECTORY_ENTRIES[:-1])} or {DIRECTORY_ENTRIES[-1]}.\n"
            "Hint: import a module file of the directory, or add a default.yaml to it."
        )
    if not stat.S_ISREG(mode):
        raise EvaluationError(
            f"{where}`{display_path(path)}' is not a regular file (a {_file_kind(mode)}); "
            "it was not read.\nHint: modules are .yaml, .yml or .py files."
        )
    loader = LOADERS.get(path.suffix)
    if loader is None:
        raise EvaluationError(
            f"{where}`{display_path(path)}' is not a module file: modules are .yaml, .yml or .py "
            f"files."
        )
    return loader(path)


def _file_kind(mode: int) -> str:
    """What a non-regular, non-directory file is, in words."""
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"


def collect(
    roots: Sequence[Module | Path],
    special_args: Mapping[str, Any] | None = None,
    library: Path | None = None,
    module_class: str | None = None,
) -> list[Module]:
    """All modules, each once (by key: a file's real path, or its explicit `key`),
    depth-first: a module, then its imports in order; `disabled_modules` removes a module
    and whatever is reachable only through it (NixOS `disabledModules`). With
    `module_class`, a module whose `_class` is another one is an error (NixOS `class`)."""
    loader = _Collector(special_args or {}, library)
    for root in roots:
        loader.load(root, None)
    disabled = loader.disabled_keys()
    seen: set[str] = set()
    out: list[Module] = []

    def visit(module: Module) -> None:
        if module.key in seen or module.key in disabled:
            return
        seen.add(module.key)
        out.append(module)
        for child in loader.children[id(module)]:
            visit(child)

    for root in roots:
        visit(loader.loaded[_ident(root)])
    check_class(out, module_class)
    return out


def _ident(item: Module | Path) -> str:
    return f"module:{id(item)}" if isinstance(item, Module) else os.path.realpath(item)


class _Collector:
    """Loads every module reachable from the roots once, remembering each one's imports."""

    def __init__(self, special_args: Mapping[str, Any], library: Path | None) -> None:
        self.special = special_args
        self.library = library
        self.loaded: dict[str, Module] = {}
        self.children: dict[int, list[Module]] = {}

    def load(self, item: Module | Path, imported_from: str | None) -> Module:
        ident = _ident(item)
        module = self.loaded.get(ident)
        if module is not None:
            return module
        if isinstance(item, Module):
            module = item
        else:
            module = load_module(Path(ident) if Path(item).exists() else Path(item), imported_from)
        self.loaded[ident] = module
        self.children[id(module)] = []
        for i, imp in enumerate(self._imports(module)):
            self.children[id(module)].append(self.load(imp, module.import_site(i)))
        return module

    def _imports(self, module: Module) -> list[Module | Path]:
        imports = module.imports
        if len(imports) == 1 and callable(imports[0]) and not isinstance(imports[0], Module):
            imports = self._call_imports(module, imports[0])
        out: list[Module | Path] = []
        for i, item in enumerate(imports, 1):
            if isinstance(item, Module | Path):
                out.append(item)
            elif isinstance(item, str):
                out.append(Path(module.file).parent / item)
            elif isinstance(item, Mapping | Property):
                # An anonymous module: `<parent key>:anon-<n>` unless it has a `key` (NixOS).
                out.append(
                    InlineModule.from_spec(item, module.file, module.line, f"{module.key}:anon-{i}")
                )
            else:
                raise EvaluationError(
                    f"In module `{module.display()}': an import must be a path or a module, not {item!r}."
                )
        return out

    def _call_imports(self, module: Module, fn: Callable[..., Any]) -> list[Any]:
        """`imports` as a function of the special args (NixOS: imports are resolved before
        any configuration exists, so only `special_args` are available to them)."""
        names = parameter_names(fn) or ()
        missing = [n for n in names if n not in self.special]
        if missing:
            raise EvaluationError(
                f"In module `{module.display()}': the imports function asks for `{missing[0]}', but "
                f"imports are resolved before the configuration exists; only the special args "
                f"({', '.join(sorted(self.special)) or 'none given'}) are available.\n"
                "Hint: pass the value as a special arg (`--arg NAME VALUE`), or import "
                "unconditionally and guard the definitions with mk_if."
            )
        result = fn(**{n: self.special[n] for n in names})
        if not isinstance(result, list | tuple):
            raise EvaluationError(
                f"In module `{module.display()}': the imports function must return a list."
            )
        return [Path(module.file).parent / p if isinstance(p, str) else p for p in result]

    def disabled_keys(self) -> set[str]:
        keys: set[str] = set()
        for module in self.loaded.values():
            for entry in module.disabled:
                keys.add(self._disabled_key(module, entry))
        return keys

    def _disabled_key(self, module: Module, entry: Any) -> str:
        if isinstance(entry, Module):
            return entry.key
        if isinstance(entry, Mapping):
            if "key" not in entry:
                raise EvaluationError(
                    f"In module `{module.display()}': a disabled_modules entry that is a mapping "
                    f"needs a `key', got {entry!r}."
                )
            return str(entry["key"])
        if isinstance(entry, int) and not isinstance(entry, bool):
            return str(entry)  # a key written as a number (NixOS: toString)
        if not isinstance(entry, str | Path):
            raise EvaluationError(
                f"In module `{module.display()}': disabled_modules entries are paths or "
                f"{{key: ...}} mappings, not {entry!r}."
            )
        text = os.fspath(entry)
        if os.path.isabs(text):
            return os.path.realpath(text)
        if text.startswith(("./", "../")) or self.library is None:
            return os.path.realpath(Path(module.file).parent / text)
        return os.path.realpath(self.library / text)
