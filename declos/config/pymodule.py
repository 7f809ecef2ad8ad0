"""Python modules: module-level `imports`, `options`, `config` (dict or function).

Files are executed through importlib. Bytecode is cached (in __pycache__) only for the
standard module library that ships with declos; beside a user's module nothing is written
(an existing .pyc there is still used).
Definition lines are found on demand by reading the source's AST for the option path.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.locations import display_path, split_key
from declos.config.modules import Module, flatten_options, module_class_of
from declos.config.properties import Property
from declos.config.usercode import USER_FAILURES, check_text, output_to_stderr, user_code_error

_KNOWN = ("imports", "options", "config", "freeform_type")
# Where the standard module library lives (the checkout's modules/, or the wheel's copy):
# the only module files whose bytecode declos caches.
_LIBRARY_DIRS = tuple(
    dict.fromkeys(
        d.resolve()
        for d in (
            Path(__file__).resolve().parents[2] / "modules",
            Path(__file__).parents[1] / "_modules",
        )
        if d.is_dir()
    )
)


class _NoBytecodeWrites(importlib.machinery.SourceFileLoader):
    """Reads a cached .pyc when one exists, never writes one: a user's directory is theirs."""

    def set_data(self, path: str, data: Any, *, _mode: int = 0o666) -> None:
        return None


class PythonModule(Module):
    kind = "python"

    def __init__(self, path: Path, key: Any = None, **kw: Any) -> None:
        super().__init__(str(path), str(key) if key is not None else str(path), **kw)
        self.path = path
        self._tree: Any = None

    def locate(self, section: str, path: Sequence[str]) -> int | None:
        found = self._find(section, path)
        return found[1] if found is not None else self.line

    def visibly_defines(self, path: Sequence[str]) -> bool:
        found = self._find("config", path)
        return found is not None and found[0] == len(path)

    def locate_import(self, index: int) -> int | None:
        tree = self._parsed()
        top = _section_node(tree, "imports") if tree else None
        if top is None:
            return self.line
        value = getattr(top, "value", None)
        if isinstance(value, ast.List | ast.Tuple) and index < len(value.elts):
            return value.elts[index].lineno
        return top.lineno

    def _parsed(self) -> ast.Module | None:
        """The source's AST, parsed again on first use (errors and line look-ups only)."""
        if self._tree is None:
            try:
                self._tree = ast.parse(self.path.read_text(encoding="utf-8"))
            except (OSError, SyntaxError, ValueError):
                self._tree = False
        return self._tree or None

    def _find(self, section: str, path: Sequence[str]) -> tuple[int, int] | None:
        """(path parts matched, line) of the best match of `path` in the `section` source."""
        tree = self._parsed()
        if tree is None:
            return None
        top = _section_node(tree, section)
        if top is None:
            return None
        best = (0, top.lineno)
        for node in ast.walk(top):
            if isinstance(node, ast.Dict):
                depth, line = _match(node, list(path), 0)
                if depth > best[0]:
                    best = (depth, line)
        return best


def _section_node(tree: ast.Module, section: str) -> ast.stmt | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == section:
            return node
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == section for t in targets):
                return node
    return None


def _match(node: ast.Dict, path: list[str], depth: int) -> tuple[int, int]:
    """(how many path parts matched, line of the deepest matching key)."""
    best = (depth, node.lineno) if depth else (0, node.lineno)
    if depth >= len(path):
        return best
    for key, value in zip(node.keys, node.values, strict=True):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            continue
        parts = split_key(key.value)
        if path[depth : depth + len(parts)] != parts:
            continue
        here = (depth + len(parts), key.lineno)
        if here[0] > best[0]:
            best = here
        for inner in ast.walk(value):
            if isinstance(inner, ast.Dict):
                found = _match(inner, path, here[0])
                if found[0] > best[0]:
                    best = found
    return best


def load_python_module(path: Path) -> PythonModule:
    display = display_path(path)
    try:
        check_text(path.read_bytes(), display)
    except OSError as exc:
        raise EvaluationError(f"cannot read module `{display}': {exc.strerror}") from None
    name = "declos_module_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    resolved = path.resolve()
    loader = (
        importlib.machinery.SourceFileLoader(name, str(path))
        if any(resolved.is_relative_to(d) for d in _LIBRARY_DIRS)
        else _NoBytecodeWrites(name, str(path))
    )
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None or spec.loader is None:
        raise EvaluationError(f"cannot load Python module `{display}'.")
    namespace = importlib.util.module_from_spec(spec)
    try:
        with output_to_stderr():
            spec.loader.exec_module(namespace)
    except EvaluationError:
        raise
    except SyntaxError as exc:
        raise EvaluationError(
            f"{display}:{exc.lineno}: syntax error in module: {exc.msg}."
        ) from None
    except USER_FAILURES as exc:  # report any failure of user code with its line
        raise user_code_error(exc, str(path), f"while loading module `{display}'") from None
    attrs = vars(namespace)
    imports = attrs.get("imports", [])
    if callable(imports):
        imports = [imports]
    elif not isinstance(imports, list | tuple):
        raise EvaluationError(
            f"In module `{display}': `imports' must be a list of paths and modules, or a "
            "function of the special args returning one."
        )
    disabled = attrs.get("disabled_modules", [])
    if not isinstance(disabled, list | tuple):
        raise EvaluationError(f"In module `{display}': `disabled_modules' must be a list.")
    options = attrs.get("options", {})
    if not isinstance(options, Mapping):
        raise EvaluationError(
            f"In module `{display}': `options' must be a dict of Option declarations."
        )
    config = attrs.get("config", {})
    if config is None:
        config = {}
    if not (isinstance(config, Mapping | Property) or callable(config)):
        raise EvaluationError(
            f"In module `{display}': `config' must be a dict or a function config(config, pkgs, lib, options)."
        )
    line = getattr(getattr(config, "__code__", None), "co_firstlineno", None)
    module = PythonModule(
        path,
        imports=[path.parent / p if isinstance(p, str | Path) else p for p in imports],
        options=list(flatten_options(options, display)),
        config=config,
        freeform=attrs.get("freeform_type"),
        line=line,
        disabled=disabled,
        key=attrs.get("key"),
    )
    module.module_class = module_class_of(attrs.get("_class"), str(path))
    return module
