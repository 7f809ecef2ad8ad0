"""Type expressions in YAML declarations: `list_of(str)`, `ints.between(1, 10)`, ...

They are written exactly as in Python and parsed with `ast` into calls on
`declos.config.types`; only names, attributes, calls and literals are allowed, so
a YAML file can never run code. `submodule` stands for the declaration's `options:`.
"""

from __future__ import annotations

import ast
from typing import Any

from declos.config import types
from declos.config.errors import EvaluationError
from declos.config.typesys import OptionType

_CACHE: dict[str, Any] = {}


def parse_type(expr: Any, sub_module: Any, where: str) -> Any:
    """The type for `expr`; `sub_module` is the module built from the sibling `options:`."""
    if sub_module is None and isinstance(expr, str):
        cached = _CACHE.get(expr)
        if cached is None:
            cached = _CACHE[expr] = _parse_type(expr, None, where)
        return cached
    return _parse_type(expr, sub_module, where)


def _parse_type(expr: Any, sub_module: Any, where: str) -> Any:
    if not isinstance(expr, str):
        raise EvaluationError(
            f"{where}: an option type must be written as a string like `list_of(str)`, not {expr!r}."
        )
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise EvaluationError(f"{where}: invalid type expression {expr!r}: {exc.msg}.") from None
    result = _finish(_Parser(expr, sub_module, where).ev(tree.body))
    if not isinstance(result, OptionType):
        raise EvaluationError(
            f"{where}: {expr!r} is not a type (did you forget the arguments, e.g. `list_of(str)`?)."
        )
    return result


class _Parser:
    """Evaluates one type expression's AST: names and attributes of `types`, calls, literals."""

    def __init__(self, expr: str, sub_module: Any, where: str) -> None:
        self.expr = expr
        self.sub_module = sub_module
        self.where = where

    def submodule_type(self, *args: Any) -> Any:
        if args:
            return types.submodule(*args)
        if self.sub_module is None:
            raise EvaluationError(
                f"{self.where}: `submodule' in {self.expr!r} needs the sub-options under `options:' in this declaration."
            )
        return types.submodule(self.sub_module)

    def attr_tag_type(self) -> Any:
        """`attr_tag` in YAML: the tags are the declaration's `options:` (one level)."""
        if self.sub_module is None:
            raise EvaluationError(
                f"{self.where}: `attr_tag' in {self.expr!r} needs its tags as options under `options:' in this declaration."
            )
        tags = {}
        for path, option in self.sub_module.options:
            if len(path) != 1:
                raise EvaluationError(
                    f"{self.where}: the tags of `attr_tag' are single names, not `{'.'.join(path)}'."
                )
            tags[path[0]] = option
        return types.attr_tag(tags)

    def ev(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.List | ast.Tuple):
            return [self.ev(e) for e in node.elts]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.ev(node.operand)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Attribute):
            base = self.ev(node.value)
            value = getattr(base, node.attr, None)
            if value is None or node.attr.startswith("_"):
                raise EvaluationError(f"{self.where}: unknown type `{node.attr}' in {self.expr!r}.")
            return value
        if isinstance(node, ast.Call):
            return self.call(node)
        raise EvaluationError(f"{self.where}: unsupported syntax in type expression {self.expr!r}.")

    def name(self, name: str) -> Any:
        if name == "submodule":
            return _Deferred(self.submodule_type)
        if name == "attr_tag":
            return _Deferred(self.attr_tag_type)
        if name in ("None", "True", "False"):
            return {"None": None, "True": True, "False": False}[name]
        value = getattr(types, name, None)
        if value is None or name.startswith("_"):
            raise EvaluationError(
                f"{self.where}: unknown type `{name}' in {self.expr!r}.\nHint: see the types table in docs/modules.md."
            )
        return value

    def call(self, node: ast.Call) -> Any:
        fn = self.ev(node.func)
        args = [_finish(self.ev(a)) for a in node.args]
        kwargs = {k.arg: _finish(self.ev(k.value)) for k in node.keywords if k.arg}
        if isinstance(fn, _Deferred):
            return fn.fn(*args, **kwargs)
        if not callable(fn):
            raise EvaluationError(
                f"{self.where}: `{ast.unparse(node.func)}' in {self.expr!r} takes no arguments."
            )
        try:
            return fn(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            raise EvaluationError(
                f"{self.where}: invalid type expression {self.expr!r}: {exc}."
            ) from None


class _Deferred:
    """`submodule` written bare: becomes the declaration's submodule when used."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn


def _finish(value: Any) -> Any:
    return value.fn() if isinstance(value, _Deferred) else value
