"""Building module values straight from libyaml's event stream.

PyYAML's usual path composes a node tree (calling its Python resolver for every node)
and then constructs values from it; for large module sets that doubles the work. Here
values are built from events in one pass: plain scalars are resolved only when their
first character can start a non-string (YAML 1.1 rules, PyYAML's resolver table), and
the `options:` section is built with key lines, which declarations record.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.resolver import Resolver

from declos.config.errors import EvaluationError
from declos.config.properties import DefinitionAt, If, Merge, Order, Override
from declos.config.templates import Template

_RESOLVERS = Resolver.yaml_implicit_resolvers
_STD = "tag:yaml.org,2002:"
_PLAIN_TAGS = (None, "!", _STD + "map", _STD + "seq")
_WRAPPERS = {
    "!default": lambda v: Override(1000, v),
    "!force": lambda v: Override(50, v),
    "!before": lambda v: Order(500, v),
    "!after": lambda v: Order(1500, v),
}
_FIELDS = {
    "!override": ("priority", "value"),
    "!order": ("priority", "value"),
    "!if": ("condition", "value"),
    "!definition": ("file", "value"),
}
_NUMERIC = frozenset("-+0123456789.")
"""First characters of plain scalars that may be numbers or timestamps (regex-resolved);
every other plain scalar is a string unless it is one of PyYAML's bool/null words."""
_WORDS: dict[str, Any] = {
    **dict.fromkeys(["yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"], True),
    **dict.fromkeys(["no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"], False),
    **dict.fromkeys(["~", "null", "Null", "NULL", ""], None),
}
_NOT_A_WORD: Any = object()
KNOWN_TAGS = "!default !force !override !before !after !order !if !merge !path !definition"
MAX_NESTING = 100
"""Mappings and lists inside each other; deeper input would exhaust Python's recursion
in later steps (routing, merging, printing), and no configuration needs it."""
MAX_ALIASES = 10_000
"""Alias uses per file; far above hand-written modules, far below an alias bomb."""
MAX_ALIAS_EXPANSION = 1_000_000
"""Values (mappings, lists, scalars) that all aliases of a file stand for, expanded: a
700-byte "billion laughs" file stands for ~10^9 and is refused at once instead of
making every later walk over the configuration take forever."""


class Marked(list):
    """A mapping from the `options:` section: [(key, key_line, value)], values Marked or plain."""


class Builder:
    """Consumes a loader's events; `display` names the file in messages and templates."""

    def __init__(self, loader: Any, display: str, path: Path | None = None) -> None:
        self.loader = loader
        self.get = loader.get_event
        self.display = display
        self.loader_path = path
        """The module file (`!path` literals are relative to it); None: the working directory."""
        self.anchors: dict[str, Any] = {}
        self.aliases = 0
        self.depth = 0
        self.expanded = 0
        self._sizes: dict[int, int] = {}

    def fail(self, event: Any, message: str) -> EvaluationError:
        return EvaluationError(f"{self.display}:{event.start_mark.line + 1}: {message}")

    # -- plain values ------------------------------------------------------------------------

    def value(self, event: Any = None) -> Any:
        if event is None:
            event = self.get()
        cls = event.__class__
        if cls is ScalarEvent:
            if event.tag is None:
                text = event.value
                if not event.implicit[0]:
                    result = self._text(event, text)
                elif text[:1] in _NUMERIC:
                    result = self.plain(event, text)
                else:
                    result = _WORDS.get(text, _NOT_A_WORD)
                    if result is _NOT_A_WORD:
                        result = self._text(event, text) if "{" in text else text
            else:
                result = self.scalar(event)
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self.fail(
                    event,
                    f"YAML nested more than {MAX_NESTING} levels deep.\n"
                    "Hint: flatten the structure (dotted keys such as `a.b.c: 1` need no nesting).",
                )
            result = self.mapping(event) if cls is MappingStartEvent else self.sequence(event)
            self.depth -= 1
        elif cls is AliasEvent:
            if event.anchor not in self.anchors:
                raise self.fail(event, f"unknown alias `*{event.anchor}'.")
            return self.alias(event)
        else:
            raise self.fail(event, f"unexpected YAML event {cls.__name__}.")
        if event.anchor is not None:
            self.anchors[event.anchor] = result
        return result

    def alias(self, event: AliasEvent) -> Any:
        """The anchored value, after checking the alias count and expansion bounds."""
        value = self.anchors[str(event.anchor)]
        self.aliases += 1
        self.expanded += self._size(value)
        if self.aliases > MAX_ALIASES or self.expanded > MAX_ALIAS_EXPANSION:
            raise self.fail(
                event,
                f"too many YAML aliases: `*{event.anchor}' makes {self.aliases} aliases standing for "
                f"{self.expanded} values (limits: {MAX_ALIASES} aliases, {MAX_ALIAS_EXPANSION} values).\n"
                "Hint: an alias repeats its anchor's whole value; write the values out, or use "
                "fewer, smaller anchors.",
            )
        return value

    def _size(self, value: Any) -> int:
        """How many values `value` stands for when every shared part is written out."""
        key = id(value)
        size = self._sizes.get(key)
        if size is not None:
            return size
        if isinstance(value, dict):
            size = 1 + sum(self._size(v) for v in value.values())
        elif isinstance(value, list):
            size = 1 + sum(self._size(v) for v in value)
        elif isinstance(value, Merge):
            size = 1 + sum(self._size(v) for v in value.contents)
        elif isinstance(value, (If, Order, Override)):
            size = 1 + self._size(value.content)
        else:
            size = 1
        self._sizes[key] = size
        return size

    def duplicate(self, key_event: Any, key: Any, first: int) -> EvaluationError:
        return self.fail(
            key_event,
            f"duplicate key `{key}' (first at {self.display}:{first}): a YAML mapping cannot "
            "hold a key twice (the later value would silently win).\n"
            "Hint: keep one of them, or merge them (`!merge [...]` for several definitions).",
        )

    def scalar(self, event: ScalarEvent) -> Any:
        tag = event.tag
        value = event.value
        if tag is None or tag == "!":
            if event.implicit[0]:
                return self.plain(event, value)
            return self._text(event, value)
        if tag in _WRAPPERS:
            return _WRAPPERS[tag](
                self.plain(event, value) if not event.style else self._text(event, value)
            )
        if tag == "!path":
            return self.path_literal(event, value)
        if tag == _STD + "str":
            return self._text(event, value)
        if tag.startswith(_STD):
            node = _scalar_node(tag, value, event, event.style)
            constructor = self.loader.yaml_constructors.get(tag)
            if constructor is None:
                raise self.fail(event, f"unsupported YAML tag `{tag}'.")
            return constructor(self.loader, node)
        raise self._unknown(event, tag)

    def path_literal(self, event: ScalarEvent, value: str) -> str:
        """`!path ./motd`: like a Nix path literal, relative to the module's own directory.

        Resolved at load time so the value is an absolute path wherever the module is
        imported from; the file need not exist yet (a build step may create it).
        """
        if not value or value.startswith("~"):
            raise self.fail(
                event, f"`!path {value}' must be a relative path like `./file' or an absolute path."
            )
        base = self.loader_path
        directory = os.path.dirname(os.path.abspath(base)) if base is not None else os.getcwd()
        return os.path.normpath(os.path.join(directory, value))

    def plain(self, event: ScalarEvent, value: str) -> Any:
        if value[:1] not in _NUMERIC:
            word = _WORDS.get(value, _NOT_A_WORD)
            return self._text(event, value) if word is _NOT_A_WORD else word
        resolvers = _RESOLVERS.get(value[:1] if value else "")
        if resolvers:
            for tag, regexp in resolvers:
                if regexp.match(value):
                    if tag == _STD + "str":
                        break
                    node = _scalar_node(tag, value, event, None)
                    return self.loader.yaml_constructors[tag](self.loader, node)
        return self._text(event, value)

    def _text(self, event: ScalarEvent, value: str) -> Any:
        if "{{" in value or "{%" in value:
            return Template(value, self.display, _line(event))
        return value

    def sequence(self, event: SequenceStartEvent) -> Any:
        items = []
        get = self.get
        while True:
            item = get()
            if item.__class__ is SequenceEndEvent:
                break
            items.append(self.value(item))
        tag = event.tag
        if tag in _PLAIN_TAGS:
            return items
        if tag == "!merge":
            return Merge(items)
        if tag in _WRAPPERS:
            return _WRAPPERS[tag](items)
        if tag in _FIELDS:
            raise self._fields_error(event, tag)
        raise self._unknown(event, tag)

    def mapping(self, event: MappingStartEvent) -> Any:
        result: dict[Any, Any] = {}
        lines: dict[Any, int] = {}
        """Key -> line of the keys written in this mapping (not those `<<` merged in)."""
        get = self.get
        while True:
            key_event = get()
            if key_event.__class__ is MappingEndEvent:
                break
            key = self.value(key_event)
            item = self.value()
            if key == "<<" and key_event.__class__ is ScalarEvent and key_event.tag is None:
                for source in item if isinstance(item, list) else [item]:
                    if not isinstance(source, dict):
                        raise self.fail(
                            key_event, "a `<<' merge key needs a mapping (or a list of mappings)."
                        )
                    for k, v in source.items():
                        result.setdefault(k, v)
                continue
            try:
                first = lines.get(key)
            except TypeError:
                raise self.fail(
                    key_event, f"a mapping key must be a string, not {type(key).__name__}."
                ) from None
            if first is not None:
                raise self.duplicate(key_event, key, first)
            lines[key] = key_event.start_mark.line + 1
            result[key] = item
        tag = event.tag
        if tag in _PLAIN_TAGS:
            return result
        if tag in _WRAPPERS:
            return _WRAPPERS[tag](result)
        if tag in _FIELDS:
            return self.fields(event, tag, result)
        raise self._unknown(event, tag)

    def fields(self, event: Any, tag: str, value: dict[Any, Any]) -> Any:
        keys = _FIELDS[tag]
        if set(value) != set(keys):
            raise self._fields_error(event, tag)
        if tag == "!if":
            cond = value["condition"]
            line = event.start_mark.line + 1
            if isinstance(cond, Template):
                cond = Template(cond.source, cond.file, cond.line, expression=True)
            elif isinstance(cond, str):
                cond = Template(cond, self.display, line, expression=True)
            elif not isinstance(cond, bool):
                raise self.fail(
                    event,
                    f"`!if' needs a condition that is true/false or an expression, not {cond!r}.",
                )
            return If(cond, value["value"])
        if tag == "!definition":
            if not isinstance(value["file"], str):
                raise self.fail(
                    event, f"`!definition' needs a string `file', not {value['file']!r}."
                )
            return DefinitionAt(value["file"], value["value"])
        priority = value["priority"]
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise self.fail(event, f"`{tag}' needs an integer priority, not {priority!r}.")
        return (Override if tag == "!override" else Order)(priority, value["value"])

    def _fields_error(self, event: Any, tag: str) -> EvaluationError:
        keys = _FIELDS[tag]
        example = ", ".join(k + ": ..." for k in keys)
        return self.fail(
            event,
            f"`{tag}' takes a mapping with exactly the keys {', '.join(keys)}, e.g. `{tag} {{{example}}}'.",
        )

    def _unknown(self, event: Any, tag: str) -> EvaluationError:
        return self.fail(event, f"unknown tag `{tag}'. Known: {KNOWN_TAGS}.")

    # -- the options section, with key lines ---------------------------------------------------

    def marked(self, event: Any = None) -> Any:
        """Like `value`, but untagged mappings become `Marked` lists keeping key lines."""
        if event is None:
            event = self.get()
        if event.__class__ is not MappingStartEvent or event.tag not in _PLAIN_TAGS:
            return self.value(event)
        result = Marked()
        lines: dict[Any, int] = {}
        while True:
            key_event = self.get()
            if key_event.__class__ is MappingEndEvent:
                break
            key = self.value(key_event)
            line = key_event.start_mark.line + 1
            try:
                first = lines.get(key)
            except TypeError:
                raise self.fail(
                    key_event, f"a mapping key must be a string, not {type(key).__name__}."
                ) from None
            if first is not None:
                raise self.duplicate(key_event, key, first)
            lines[key] = line
            result.append((key, line, self.marked()))
        return result


def _line(event: Any) -> int:
    """The 1-based line an event starts on."""
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0


def _scalar_node(tag: str, value: str, event: Any, style: str | None) -> yaml.ScalarNode:
    """A node for PyYAML's constructors (libyaml's marks are their own type, same fields)."""
    return yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, style)


def unmark(value: Any) -> Any:
    """Plain values from a `Marked` tree (for declaration fields such as `default`)."""
    if isinstance(value, Marked):
        return {k: unmark(v) for k, _, v in value}
    return value
