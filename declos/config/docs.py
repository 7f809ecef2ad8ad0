"""Option documentation: one record per visible option, NixOS `options.json` shape.

Sub-options of submodule types are listed with placeholders, as NixOS does:
`attrs_of(submodule)` -> `<name>`, `list_of(submodule)` -> `*`.
"""

from __future__ import annotations

import fnmatch
import textwrap
from collections.abc import Iterator, Sequence
from typing import Any

from declos.config.messages import show_path
from declos.config.option import NO_VALUE, Option
from declos.config.render import render, render_literal
from declos.config.slot import Slot
from declos.config.tagged import AttrTag


def option_records(ev: Any) -> list[dict[str, Any]]:
    """Every visible, non-internal option of `ev`, sorted by name."""
    records = list(_walk_tree(ev.tree))
    records.sort(key=lambda r: r["name"])
    return records


def _walk_tree(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for child in node.values():
        if isinstance(child, dict):
            yield from _walk_tree(child)
        elif isinstance(child, Slot):
            yield from _walk_option(tuple(child.path), [o for o, _ in child.decls], child.type)


def _walk_option(
    path: tuple[str, ...], decls: Sequence[Option], typ: Any
) -> Iterator[dict[str, Any]]:
    first = decls[0]
    visible = next((o.visible for o in decls if o.visible is not True), True)
    if any(o.internal for o in decls) or visible is False:
        return
    if visible != "transparent":
        yield _record(path, decls, typ)
    if visible == "shallow":
        return
    sub = typ.sub_options()
    if sub is None:
        return
    placeholder, subtype = sub
    prefix = path + tuple(p for p in placeholder.split(".") if p)
    if isinstance(subtype, AttrTag):  # each tag is an option (NixOS attrTag docs)
        for tag, options in subtype.declared.items():
            yield from _walk_option((*prefix, tag), options, subtype.tags[tag].type)
        return
    grouped: dict[tuple[str, ...], list[Option]] = {}
    for module in subtype.modules_for("<name>"):
        for rel, option in module.options:
            grouped.setdefault(rel, []).append(option)
    del first
    for rel, options in grouped.items():
        yield from _walk_option(prefix + rel, options, options[0].type)


def _first(decls: Sequence[Option], attr: str) -> Any:
    """The attribute from the first declaration that sets it (None is a real default)."""
    for option in decls:
        value = getattr(option, attr)
        if value is NO_VALUE or (value is None and attr not in ("default", "example")):
            continue
        return value
    return NO_VALUE


def _record(path: tuple[str, ...], decls: Sequence[Option], typ: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": show_path(path),
        "loc": list(path),
        "type": typ.description,
        "description": _first(decls, "description") or "",
        "declarations": [o.where() for o in decls],
        "readOnly": any(o.read_only for o in decls),
    }
    default_text = _first(decls, "default_text")
    default = _first(decls, "default")
    if default_text is not NO_VALUE:
        record["default"] = {"_type": "literalExpression", "text": default_text}
    elif default is not NO_VALUE:
        record["default"] = {"_type": "literalExpression", "text": render_literal(default)}
    example = _first(decls, "example")
    if example is not NO_VALUE:
        record["example"] = {"_type": "literalExpression", "text": render_literal(example)}
    return record


def select(records: Sequence[dict[str, Any]], pattern: str | None) -> list[dict[str, Any]]:
    """Options named `pattern`, below it (`pattern.*`), or matching it as a glob."""
    if not pattern:
        return list(records)
    if any(c in pattern for c in "*?["):
        return [r for r in records if fnmatch.fnmatchcase(r["name"], pattern)]
    return [r for r in records if r["name"] == pattern or r["name"].startswith(pattern + ".")]


def to_options_json(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {r["name"]: {k: v for k, v in r.items() if k != "name"} for r in records}


def to_markdown(records: Sequence[dict[str, Any]]) -> str:
    out = []
    for r in records:
        out.append(f"## `{r['name']}`\n")
        if r["description"]:
            out.append(r["description"] + "\n")
        out.append(f"*Type:* {r['type']}" + (" (read-only)" if r["readOnly"] else "") + "\n")
        for key, label in (("default", "Default"), ("example", "Example")):
            if key in r:
                text = r[key]["text"]
                out.append(
                    f"*{label}:*\n\n```\n{text}\n```\n"
                    if "\n" in text
                    else f"*{label}:* `{text}`\n"
                )
        out.append("*Declared in:* " + ", ".join(f"`{d}`" for d in r["declarations"]) + "\n")
    return "\n".join(out)


def to_terminal(records: Sequence[dict[str, Any]]) -> str:
    out = []
    for r in records:
        lines = [r["name"]]
        if r["description"]:
            for para in r["description"].split("\n\n"):
                lines += textwrap.wrap(para, 76, initial_indent="    ", subsequent_indent="    ")
            lines.append("")
        lines.append(f"    Type: {r['type']}" + (" (read-only)" if r["readOnly"] else ""))
        for key, label in (("default", "Default"), ("example", "Example")):
            if key in r:
                text = r[key]["text"].replace("\n", "\n        ")
                lines.append(f"    {label}: {text}")
        lines.append("    Declared in: " + ", ".join(r["declarations"]))
        out.append("\n".join(lines))
    return "\n\n".join(out)


__all__ = ["option_records", "render", "select", "to_markdown", "to_options_json", "to_terminal"]
