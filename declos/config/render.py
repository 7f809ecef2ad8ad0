"""Readable rendering of configuration values (Nix-like), for `declos eval` and errors.

Nix syntax was chosen because it is unambiguous for every value the module system
produces (strings are always quoted, attribute names are quoted only when needed) and it
is what NixOS users read in `nix eval` and in module-system error messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any, Protocol, runtime_checkable

_BARE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_'-]*$")


def quote_name(name: str) -> str:
    """An attribute name as Nix writes it: bare when it is an identifier."""
    return name if _BARE_NAME.match(name) else json.dumps(name)


_NIX_KEYWORDS = frozenset(
    ("assert", "else", "if", "in", "inherit", "let", "or", "rec", "then", "with")
)


def escape_nix_identifier(name: str) -> str:
    """NixOS `lib.strings.escapeNixIdentifier`: bare when an identifier and not a keyword,
    else a JSON string with `$` escaped (`"123"`, `"with\\"quote"`)."""
    if _BARE_NAME.fullmatch(name) and name not in _NIX_KEYWORDS:
        return name
    return escape_nix_string(name)


def escape_nix_string(text: str) -> str:
    """NixOS `lib.strings.escapeNixString`: a JSON string with `$` escaped."""
    return json.dumps(text, ensure_ascii=False).replace("$", "\\$")


def show_attr_path(path: Any) -> str:
    """NixOS `lib.showAttrPath`: `pkgs."123".hello`-style text for a list of names."""
    return (
        ".".join(escape_nix_identifier(str(p)) for p in path) if path else "<root attribute path>"
    )


def render(value: Any, indent: int = 0) -> str:
    """Multi-line Nix-like text for `value` (derivations print as their store path)."""
    pad = "  " * indent
    if isinstance(value, Mapping):
        if not value:
            return "{ }"
        lines = ["{"]
        for key in value:
            lines.append(f"{pad}  {quote_name(str(key))} = {render(value[key], indent + 1)};")
        lines.append(pad + "}")
        return "\n".join(lines)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[ ]"
        items = [render(v, indent + 1) for v in value]
        one_line = "[ " + " ".join(items) + " ]"
        if "\n" not in one_line and len(one_line) + len(pad) <= 80:
            return one_line
        return "[\n" + "".join(f"{pad}  {item}\n" for item in items) + pad + "]"
    return render_atom(value)


def render_atom(value: Any) -> str:
    if isinstance(value, _Raw):
        return value.text
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    out_path = getattr(value, "out_path", None)
    if isinstance(out_path, str):
        return json.dumps(out_path)
    if isinstance(value, PurePath):
        return str(value)  # a path value, unquoted as Nix shows its path literals
    if callable(value):
        return "«lambda»"
    return f"«{type(value).__name__}»"


def render_short(value: Any, max_lines: int = 5) -> str:
    """A definition value for an error message: cut after `max_lines` lines like NixOS."""
    try:
        text = render(_plain(value))
    except Exception:  # noqa: BLE001 - a value that cannot be shown is shown without value
        return "«value not shown»"
    lines = text.split("\n")
    if len(lines) > max_lines:
        lines = lines[:max_lines] + ["..."]
    return "\n    ".join(lines) if len(lines) > 1 else lines[0]


@runtime_checkable
class Written(Protocol):
    """A value shown as the helper call that wrote it (definition properties implement it,
    so this leaf module needs no import of them)."""

    def written(self, show: Callable[[Any], str]) -> str: ...


def _plain(value: Any) -> Any:
    """Show properties the way a user wrote them, without evaluating anything lazy."""
    if isinstance(value, Written):
        return _Raw(value.written(render_short))
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _Raw:
    """Text printed verbatim by `render_atom` (a property shown as its helper call)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class LiteralExpression(str):
    """Documentation text shown as-is for a `default`/`example` (NixOS `literalExpression`)."""

    __slots__ = ()


def render_literal(value: Any) -> str:
    """A declared default/example as text: templates and properties shown as written."""
    if isinstance(value, LiteralExpression):
        return str(value)
    try:
        return render(_plain(value))
    except Exception:  # noqa: BLE001 - documentation must not fail on odd values
        return repr(value)
