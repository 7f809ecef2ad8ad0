"""Attribute-keyed types: `attr_tag` (a tagged union) and `attr_list_of` (an ordered list of
single-key attribute sets), with NixOS's checks, merges, descriptions and messages
(`lib.types.attrTag`, `lib.types.attrListWith`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.merge import ABSENT, merge_definitions, value_or_empty
from declos.config.messages import Definition, show_defs, show_path
from declos.config.modules import DeclarationSite
from declos.config.option import Option
from declos.config.properties import (
    DEFAULT_ORDER,
    DEFAULT_PRIORITY,
    OPTION_DEFAULT_PRIORITY,
    Order,
    Override,
)
from declos.config.render import quote_name
from declos.config.suboptions import SubOption
from declos.config.typesys import NOUN_COMPOSITE, OptionType, phrase
from declos.config.values import AttrDict


class AttrTag(OptionType):
    """A value is `{TAG: value}` with exactly one of the tags; each tag is an `Option`
    whose type (and default) the tagged value is merged with."""

    name = "attrTag"
    description_class = "noun"

    def __init__(
        self, tags: Mapping[str, Any], declared: Mapping[str, Sequence[Option]] | None = None
    ) -> None:
        for tag, option in tags.items():
            if not isinstance(option, Option):
                what = (
                    "was a bare type, not wrapped in Option."
                    if isinstance(option, OptionType)
                    else f"was not (it is {type(option).__name__} {option!r})."
                )
                raise EvaluationError(
                    f"In attr_tag, each tag value must be an option, but tag {quote_name(tag)} {what}\n"
                    f"Hint: write Option(types.X) as the value of tag {quote_name(tag)}."
                )
        self.tags = dict(sorted(tags.items()))
        self.declared = {
            tag: list((declared or {}).get(tag) or [opt]) for tag, opt in self.tags.items()
        }
        """Each tag's declarations (two when merged types both have it): its documentation."""
        self.choices = ", ".join(quote_name(t) for t in self.tags)
        self.description = f"attribute-tagged union with choices: {self.choices}"

    def check(self, value: Any) -> bool:
        return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in self.tags

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        choice = next(iter(defs[0][0]))
        for value, _ in defs[1:]:
            other = next(iter(value))
            if other != choice:
                files = ", ".join(f"`{m.where(loc)}'" for _, m in defs)
                raise EvaluationError(
                    f"The option `{show_path(loc)}` is defined both as `{choice}` and `{other}`, "
                    f"in {files}.\nHint: define only one of the tags ({self.choices})."
                )
        option = self.tags[choice]
        sub_loc = (*loc, choice)
        sub_defs = [(value[choice], module) for value, module in defs]
        if option.has_default:
            sub_defs.insert(
                0, (Override(OPTION_DEFAULT_PRIORITY, option.default), DeclarationSite(option))
            )
        merged = merge_definitions(ev, sub_loc, option.type, sub_defs)
        value = value_or_empty(option.type, sub_loc, merged, ev)
        if option.apply is not None:
            value = option.apply(value)
        return {choice: value}

    def type_merge(self, other: OptionType) -> OptionType | None:
        """Tags of both; a tag in both gets the merged type of its two declarations."""
        if not isinstance(other, AttrTag):
            return None
        tags = dict(self.tags)
        declared = {tag: list(decls) for tag, decls in self.declared.items()}
        for tag, option in other.tags.items():
            declared[tag] = [*declared.get(tag, ()), *other.declared[tag]]
            mine = tags.get(tag)
            if mine is None:
                tags[tag] = option
                continue
            typ = mine.type.type_merge(option.type)
            if typ is None:
                return None
            default = mine.default if mine.has_default else option.default
            tags[tag] = Option(
                typ,
                default,
                mine.description or option.description,
                _where=(mine.file, mine.line or 0),
            )
        return AttrTag(tags, declared)

    def sub_options(self) -> tuple[str, Any] | None:
        return ("", self)

    def declared_options(self, base: Sequence[str]) -> Any:
        """NixOS attrTag's `getSubOptions`: each tag as an option at `BASE.TAG`, with the
        declarations of every merged declaration of that tag."""
        return AttrDict(
            (tag, SubOption((*base, tag), decls)) for tag, decls in self.declared.items()
        )


class AttrList(OptionType):
    """`attr_list_of(elem)`: definitions are lists of single-key attribute sets, or
    attribute sets whose values may carry `mk_order`; the value is one list of
    single-key attribute sets, sorted by order priority (stable), each value merged
    with `elem`. Per key, only the items of the strongest override priority count.
    With `as_attrs`, the value is an attribute set: key -> `merge_attr_values(key, values)`
    (default: the list of the key's values)."""

    name = "attrListOf"
    description_class = "composite"
    attr_set_valued = True

    def __init__(
        self,
        elem: OptionType,
        as_attrs: bool = False,
        merge_attr_values: Callable[[str, list[Any]], Any] | None = None,
    ) -> None:
        self.elem = elem
        self.as_attrs = as_attrs
        self.merge_attr_values = merge_attr_values
        self.description = f"attribute list of {phrase(elem, NOUN_COMPOSITE)}"

    def check(self, value: Any) -> bool:
        return isinstance(value, list | tuple | Mapping)

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        out = [{key: merged} for key, _, merged, _, _ in self.evaluated(ev, loc, defs)]
        if not self.as_attrs:
            return out
        zipped: dict[str, list[Any]] = {}
        for entry in out:
            for key, item in entry.items():
                zipped.setdefault(key, []).append(item)
        combine = self.merge_attr_values or (lambda _name, values: values)
        return {key: combine(key, values) for key, values in zipped.items()}

    def evaluated(
        self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]
    ) -> list[tuple[str, Any, Any, int, Any]]:
        """The kept items in order: (key, definition, merged value, order priority, module);
        items whose element merge gives no value are left out (NixOS's `evals`)."""
        items: list[tuple[str, Any, int, int, Any]] = []
        for value, module in defs:
            if isinstance(value, Mapping):
                for key, item in value.items():
                    items.append((key, *_peel(item), module))
            else:
                for raw in value:
                    items.append(self._list_item(loc, raw, module))
        strongest: dict[str, int] = {}
        for key, _, _, prio, _ in items:
            strongest[key] = min(prio, strongest.get(key, DEFAULT_PRIORITY))
        kept = [i for i in items if i[3] == strongest[i[0]]]
        kept.sort(key=lambda i: i[2])
        out: list[tuple[str, Any, Any, int, Any]] = []
        for key, item, order, _, module in kept:
            merged = merge_definitions(ev, (*loc, key), self.elem, [(item, module)])
            if merged is not ABSENT:
                out.append((key, item, merged, order, module))
        return out

    def _list_item(
        self, loc: Sequence[str], raw: Any, module: Any
    ) -> tuple[str, Any, int, int, Any]:
        order = raw.priority if isinstance(raw, Order) else None
        item = raw.content if isinstance(raw, Order) else raw
        if not isinstance(item, Mapping) or len(item) != 1:
            why = (
                f"Each list element must be an attribute set, but got {_nix_type(item)}"
                if not isinstance(item, Mapping)
                else f"Each list element must be a single-key attribute set, but got {len(item)} keys"
            )
            raise EvaluationError(
                f"A definition for option `{show_path(loc)}' is not of type `{self.description}'. "
                f"{why}.{show_defs([(raw, module)], loc)}"
            )
        key = next(iter(item))
        value, peeled_order, prio = _peel(item[key])
        return key, value, order if order is not None else peeled_order, prio, module

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return {} if self.as_attrs else []

    def type_merge(self, other: OptionType) -> OptionType | None:
        return None  # NixOS: attrListOf does not merge

    def sub_options(self) -> tuple[str, Any] | None:
        inner = self.elem.sub_options() if not self.elem.nested else ("", self.elem)
        return ("*" + ("." + inner[0] if inner and inner[0] else ""), inner[1]) if inner else None


def _peel(value: Any) -> tuple[Any, int, int]:
    """(value, order priority, override priority) of an item: `mk_order` is consumed,
    `mk_override` is kept on the value (the element merge strips it)."""
    order, prio = DEFAULT_ORDER, DEFAULT_PRIORITY
    content = value
    wrappers: list[int] = []
    while isinstance(content, Order | Override):
        if isinstance(content, Order):
            order = content.priority
        else:
            if not wrappers:
                prio = content.priority  # the outermost override counts
            wrappers.append(content.priority)
        content = content.content
    for priority in reversed(wrappers):
        content = Override(priority, content)
    return content, order, prio


def _nix_type(value: Any) -> str:
    """`builtins.typeOf`'s word for a value, as NixOS's message says it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "list"
    return "lambda" if callable(value) else type(value).__name__


__all__ = ["AttrList", "AttrTag"]
