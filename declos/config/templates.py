"""Jinja2 strings in YAML modules: lazy values evaluated when their option is forced.

A string that is exactly one `{{ expression }}` yields the expression's native value
(so `"{{ config.services.httpd.enable }}"` is a bool and `"{{ pkgs.hello }}"` the
derivation); any other template renders to a string. Jinja is imported on first use,
so modules without templates never pay for it.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.properties import Lazy
from declos.config.usercode import USER_FAILURES
from declos.config.values import AttrDict, LazyAttrs, to_json
from declos.config.view import ConfigView, InstanceValue

_WHOLE = re.compile(r"\A\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}\Z", re.S)


class Template(Lazy):
    """A Jinja2 string (or a bare expression, for `!if` conditions) from file:line."""

    __slots__ = ("source", "file", "line", "expression", "_compiled")

    def __init__(self, source: str, file: str, line: int, expression: bool = False) -> None:
        super().__init__(self.evaluate)
        self.source = source
        self.file = file
        self.line = line
        self.expression = expression
        self._compiled: Any = None

    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        try:
            if self._compiled is None:
                self._compiled = self._compile()
            kind, compiled = self._compiled
            if kind == "expr":
                value = compiled(**scope)
                _reject_undefined(value)
                return value
            return compiled.render(**scope)
        except EvaluationError as exc:
            raise EvaluationError(
                f"{exc.message}\n(while evaluating the template {self.source!r} at {self.where()})"
            ) from None
        except _jinja().TemplateError as exc:
            raise EvaluationError(
                f"{self.where()}: error in template {self.source!r}: {exc}\n"
                "Hint: templates see `config`, `pkgs`, `lib` (and `name` inside a submodule)."
            ) from None
        except USER_FAILURES as exc:  # user expressions may raise anything
            raise EvaluationError(
                f"{self.where()}: error in template {self.source!r}: {type(exc).__name__}: {exc}"
            ) from None

    def _compile(self) -> tuple[str, Any]:
        env = _environment()
        if self.expression:
            match = _WHOLE.match(self.source.strip())
            expr = match.group("expr") if match else self.source
            return "expr", env.compile_expression(expr, undefined_to_none=False)
        match = _WHOLE.match(self.source)
        if match:
            return "expr", env.compile_expression(match.group("expr"), undefined_to_none=False)
        return "text", env.from_string(self.source)

    def __repr__(self) -> str:
        return repr(self.source)

    def written(self, show: Callable[[Any], str]) -> str:
        return show(self.source)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def _jinja() -> ModuleType:
    """Jinja2, imported on first use: about 200 ms that modules without templates never pay
    (a deliberate lazy load of a third-party library, not a way around an import cycle)."""
    return importlib.import_module("jinja2")


def _reject_undefined(value: Any) -> None:
    if isinstance(value, _jinja().Undefined):
        value._fail_with_undefined_error()


@functools.cache
def _environment() -> Any:
    """One strict environment: reading something that does not exist is an error."""
    jinja2 = _jinja()
    strict = (ConfigView, InstanceValue, AttrDict, LazyAttrs)

    class Environment(jinja2.Environment):  # type: ignore[name-defined]
        def getattr(self, obj: Any, attribute: str) -> Any:
            if isinstance(obj, strict):
                return getattr(obj, attribute)
            return super().getattr(obj, attribute)

    env = Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    # `tojson` of configuration values: lazy mappings (submodule instances, lazy_attrs_of)
    # become dicts and packages their store paths, as `declos eval --json` prints them.
    env.policies["json.dumps_function"] = lambda obj, **kw: json.dumps(to_json(obj), **kw)
    return env
