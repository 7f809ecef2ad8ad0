"""NixOS `lib.optionAttrSetToDocList`: every option of an option tree as one flat record,
the form documentation generators read (nixos-render-docs, `declos options`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from declos.config.messages import show_path


def option_attr_set_to_doc_list(options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One record per option of `options` (the `options` module argument, or a
    `type.get_sub_options(...)` result), followed by the records of its sub-options when
    its type has any: `loc`, `name`, `description`, `declarations`, `internal`,
    `visible`, `readOnly`, `type` (the type's description), and `example` and `default`
    (the `defaultText` when there is one) when declared. Values are not rendered."""
    out: list[dict[str, Any]] = []
    for opt in _options(options):
        loc = list(opt["loc"])
        visible = opt["visible"] if "visible" in opt else True
        record: dict[str, Any] = {
            "loc": loc,
            "name": show_path(loc),
            "description": opt["description"] if "description" in opt else None,
            "declarations": list(opt["declarations"]),
            "internal": bool(opt["internal"]) if "internal" in opt else False,
            "visible": visible if isinstance(visible, bool) else visible == "shallow",
            "readOnly": bool(opt["readOnly"]) if "readOnly" in opt else False,
            "type": opt["type"].description,
        }
        if "example" in opt:
            record["example"] = opt["example"]
        if "defaultText" in opt or "default" in opt:
            record["default"] = opt["defaultText"] if "defaultText" in opt else opt["default"]
        out.append(record)
        sub = opt["type"].get_sub_options(loc)
        if sub and (visible if isinstance(visible, bool) else visible == "transparent"):
            out += option_attr_set_to_doc_list(sub)
    return out


def _options(tree: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """NixOS `collect isOption`: the option sets of a nested tree, by sorted name."""
    for key in sorted(tree):
        value = tree[key]
        if isinstance(value, Mapping) and "_type" in value and value["_type"] == "option":
            yield value
        elif isinstance(value, Mapping):
            yield from _options(value)
