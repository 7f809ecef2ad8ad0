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

    def submodule_type(*args: Any) -> Any:
        if args:
            return types.submodule(*args)
        if sub_module is None:
            raise EvaluationError(
                f"{where}: `submodule' in {expr!r} needs the sub-options under `options:' in this declaration."
            )
        return types.submodule(sub_module)

    def attr_tag_type() -> Any:
        """`attr_tag` in YAML: the tags are the declaration's `options:` (one level)."""
        if sub_module is None:
            raise EvaluationError(
                f"{where}: `attr_tag' in {expr!r} needs its tags as options under `options:' in this declaration."
            )
        tags = {}
        for path, option in sub_module.options:
            if len(path) != 1:
                raise EvaluationError(
                    f"{where}: the tags of `attr_tag' are single names, not `{'.'.join(path)}'."
                )
            tags[path[0]] = option
        return types.attr_tag(tags)

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.List | ast.Tuple):
            return [ev(e) for e in node.elts]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.Name):
            if node.id == "submodule":
                return _Deferred(submodule_type)
            if node.id == "attr_tag":
                return _Deferred(attr_tag_type)
            if node.id in ("None", "True", "False"):
                return {"None": None, "True": True, "False": False}[node.id]
            value = getattr(types, node.id, None)
            if value is None or node.id.startswith("_"):
                raise EvaluationError(
                    f"{where}: unknown type `{node.id}' in {expr!r}.\nHint: see the types table in docs/modules.md."
                )
            return value
        if isinstance(node, ast.Attribute):
            base = ev(node.value)
            value = getattr(base, node.attr, None)
            if value is None or node.attr.startswith("_"):
                raise EvaluationError(f"{where}: unknown type `{node.attr}' in {expr!r}.")
            return value
        if isinstance(node, ast.Call):
            fn = ev(node.func)
            args = [_finish(ev(a)) for a in node.args]
            kwargs = {k.arg: _finish(ev(k.value)) for k in node.keywords if k.arg}
            if isinstance(fn, _Deferred):
                return fn.fn(*args, **kwargs)
            if not callable(fn):
                raise EvaluationError(
                    f"{where}: `{ast.unparse(node.func)}' in {expr!r} takes no arguments."
                )
            try:
                return fn(*args, **kwargs)
            except (TypeError, ValueError) as exc:
                raise EvaluationError(
                    f"{where}: invalid type expression {expr!r}: {exc}."
                ) from None
        raise EvaluationError(f"{where}: unsupported syntax in type expression {expr!r}.")

    result = _finish(ev(tree.body))
    if not isinstance(result, OptionType):
        raise EvaluationError(
            f"{where}: {expr!r} is not a type (did you forget the arguments, e.g. `list_of(str)`?)."
        )
    return result


class _Deferred:
    """`submodule` written bare: becomes the declaration's submodule when used."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn


def _finish(value: Any) -> Any:
    return value.fn() if isinstance(value, _Deferred) else value
