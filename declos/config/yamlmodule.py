"""YAML modules: `imports`, `options`, `config` (or shorthand), property tags, Jinja strings.

Parsing uses libyaml's composer; values are built with PyYAML's safe constructor plus
the property tags. Lines come from node marks: declarations record theirs at load time
(few), definitions are located again by path only when an error needs the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from declos.config.errors import EvaluationError
from declos.config.modules import Module, display_path
from declos.config.option import NO_VALUE, Option
from declos.config.properties import If, Merge, Order, Override
from declos.config.templates import Template, is_template

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MODULE_KEYS = {"imports", "options", "config", "freeform_type"}
OPTION_KEYS = {"type", "default", "description", "example", "default_text", "read_only", "internal", "visible", "options"}


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader + declos tags; `display` is the file name used in messages."""

    display = "<unknown-file>"
    source: Path = Path("<unknown-file>")


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _fail(loader: _Loader, node: yaml.Node, message: str) -> EvaluationError:
    return EvaluationError(f"{loader.display}:{_line(node)}: {message}")


def _construct_str(loader: _Loader, node: yaml.ScalarNode) -> Any:
    value = loader.construct_scalar(node)
    if is_template(value):
        return Template(value, loader.display, _line(node))
    return value


def _untagged(loader: _Loader, node: yaml.Node) -> Any:
    """The value of a tagged node as if the tag were absent."""
    if isinstance(node, yaml.ScalarNode):
        tag = loader.resolve(yaml.ScalarNode, node.value, (node.style in (None, ""), False))
        plain = yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark, node.style)
        return loader.construct_object(plain, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return [loader.construct_object(child, deep=True) for child in node.value]
    return loader.construct_mapping(node, deep=True)


def _fields(loader: _Loader, node: yaml.Node, tag: str, keys: Sequence[str]) -> dict[str, Any]:
    value = _untagged(loader, node)
    if not isinstance(value, dict) or set(value) != set(keys):
        raise _fail(loader, node, f"`{tag}' takes a mapping with exactly the keys {', '.join(keys)}, e.g. "
                    f"`{tag} {{{', '.join(k + ': ...' for k in keys)}}}'.")
    return value


def _priority(loader: _Loader, node: yaml.Node, tag: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(loader, node, f"`{tag}' needs an integer priority, not {value!r}.")
    return value


def _override(loader: _Loader, node: yaml.Node) -> Override:
    f = _fields(loader, node, "!override", ("priority", "value"))
    return Override(_priority(loader, node, "!override", f["priority"]), f["value"])


def _order(loader: _Loader, node: yaml.Node) -> Order:
    f = _fields(loader, node, "!order", ("priority", "value"))
    return Order(_priority(loader, node, "!order", f["priority"]), f["value"])


def _if(loader: _Loader, node: yaml.Node) -> If:
    f = _fields(loader, node, "!if", ("condition", "value"))
    cond = f["condition"]
    if isinstance(cond, Template):
        cond = Template(cond.source, cond.file, cond.line, expression=True)
    elif isinstance(cond, str):
        cond = Template(cond, loader.display, _line(node), expression=True)
    elif not isinstance(cond, bool):
        raise _fail(loader, node, f"`!if' needs a condition that is true/false or an expression, not {cond!r}.")
    return If(cond, f["value"])


def _merge(loader: _Loader, node: yaml.Node) -> Merge:
    if not isinstance(node, yaml.SequenceNode):
        raise _fail(loader, node, "`!merge' takes a list of definitions.")
    return Merge(_untagged(loader, node))


_Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)
_Loader.add_constructor("!default", lambda lo, n: Override(1000, _untagged(lo, n)))
_Loader.add_constructor("!force", lambda lo, n: Override(50, _untagged(lo, n)))
_Loader.add_constructor("!before", lambda lo, n: Order(500, _untagged(lo, n)))
_Loader.add_constructor("!after", lambda lo, n: Order(1500, _untagged(lo, n)))
_Loader.add_constructor("!override", _override)
_Loader.add_constructor("!order", _order)
_Loader.add_constructor("!if", _if)
_Loader.add_constructor("!merge", _merge)


def _unknown_tag(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    raise _fail(loader, node, f"unknown tag `{node.tag}'. Known: !default !force !override !before !after !order !if !merge.")


_Loader.add_multi_constructor("!", _unknown_tag)


class YamlModule(Module):
    kind = "yaml"

    def __init__(self, path: Path, **kw: Any) -> None:
        super().__init__(str(path), str(path), **kw)
        self.path = path
        self._nodes: Any = None

    def locate(self, section: str, path: Sequence[str]) -> int | None:
        if self._nodes is None:
            try:
                self._nodes = yaml.compose(self.path.read_text(encoding="utf-8"), Loader=_BaseLoader) or False
            except (OSError, yaml.YAMLError):
                self._nodes = False
        root = self._nodes
        if not isinstance(root, yaml.MappingNode):
            return None
        body = _section(root, section)
        if body is None:
            return _line(root)
        if not path:
            return _line(body)
        found = locate_node(body, list(path))
        return found if found is not None else _line(body)


def _section(root: yaml.MappingNode, section: str) -> yaml.Node | None:
    keys = {k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode)}
    if "config" in keys or "options" in keys:
        return keys.get(section)
    return root if section == "config" else None


def locate_node(node: yaml.Node, path: list[str]) -> int | None:
    """Line of the deepest key along `path` (dotted keys and property tags are followed)."""
    if isinstance(node, yaml.MappingNode) and node.tag in ("!if", "!override", "!order"):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == "value":
                return locate_node(v, path)
        return None
    if isinstance(node, yaml.SequenceNode) and node.tag == "!merge":
        for child in node.value:
            found = locate_node(child, path)
            if found is not None:
                return found
        return None
    if not isinstance(node, yaml.MappingNode) or not path:
        return None
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode):
            continue
        parts = k.value.split(".")
        if path[: len(parts)] == parts:
            rest = path[len(parts):]
            deeper = locate_node(v, rest) if rest else None
            return deeper if deeper is not None else _line(k)
        if k.value == path[0]:
            rest = path[1:]
            deeper = locate_node(v, rest) if rest else None
            return deeper if deeper is not None else _line(k)
    return None


def load_yaml_module(path: Path) -> YamlModule:
    display = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EvaluationError(f"cannot read module `{display}': {exc.strerror}") from None
    loader = _Loader(text)
    loader.display = display
    loader.source = path
    try:
        root = loader.get_single_node()
        if root is None:
            return YamlModule(path, config={})
        if not isinstance(root, yaml.MappingNode):
            raise _fail(loader, root, "a YAML module must be a mapping (imports/options/config or option definitions).")
        return _module_from_root(loader, path, root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{display}:{mark.line + 1}" if mark else display
        problem = getattr(exc, "problem", None) or str(exc)
        raise EvaluationError(f"{where}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()


def _module_from_root(loader: _Loader, path: Path, root: yaml.MappingNode) -> YamlModule:
    pairs = [(loader.construct_object(k), k, v) for k, v in root.value]
    names = {name for name, _, _ in pairs}
    explicit = "config" in names or "options" in names
    imports: list[Path] = []
    options: list[tuple[tuple[str, ...], Option]] = []
    freeform = None
    config: dict[str, Any] = {}
    for name, knode, vnode in pairs:
        if name == "imports":
            imports = _imports(loader, path, vnode)
        elif name == "freeform_type":
            from declos.config.typeexpr import parse_type

            freeform = parse_type(loader.construct_object(vnode), None, f"{loader.display}:{_line(vnode)}")
        elif explicit and name == "options":
            options = _options(loader, vnode, ())
        elif explicit and name == "config":
            value = loader.construct_object(vnode, deep=True)
            if value is None:
                value = {}
            config = value
        elif explicit:
            others = sorted(str(n) for n in names if n not in MODULE_KEYS)
            raise _fail(
                loader, knode,
                f"Module `{loader.display}' has an unsupported attribute `{name}'. This is caused by introducing "
                "a top-level `config' or `options' attribute. Add configuration attributes immediately on the top "
                f"level instead, or move all of them (namely: {', '.join(others)}) into the explicit `config' attribute.",
            )
        else:
            if not isinstance(name, str):
                raise _fail(loader, knode, f"option names must be strings, not {name!r}.")
            config[name] = loader.construct_object(vnode, deep=True)
    return YamlModule(path, imports=imports, options=options, config=config, freeform=freeform, line=1)


def _imports(loader: _Loader, path: Path, node: yaml.Node) -> list[Path]:
    value = loader.construct_object(node, deep=True)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(loader, node, "`imports' must be a list of module paths (relative to this file).")
    return [(path.parent / v) for v in value]


def _is_declaration(node: yaml.MappingNode) -> bool:
    keys = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    if "type" in keys:
        return True
    return bool(keys) and keys <= OPTION_KEYS and bool(keys & {"default", "description"})


def _options(loader: _Loader, node: yaml.Node, prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], Option]]:
    if not isinstance(node, yaml.MappingNode):
        raise _fail(loader, node, "`options' must be a mapping of option names to declarations.")
    out: list[tuple[tuple[str, ...], Option]] = []
    for knode, vnode in node.value:
        key = loader.construct_object(knode)
        if not isinstance(key, str) or not key:
            raise _fail(loader, knode, f"option names must be non-empty strings, not {key!r}.")
        path = (*prefix, *key.split("."))
        if isinstance(vnode, yaml.MappingNode) and _is_declaration(vnode):
            out.append((path, _declaration(loader, knode, vnode, path)))
        elif isinstance(vnode, yaml.MappingNode):
            out.extend(_options(loader, vnode, path))
        else:
            raise _fail(
                loader, vnode,
                f"expected an option declaration at option path `{'.'.join(path)}` "
                "(a mapping with `type', `default', `description'...).",
            )
    return out


def _declaration(loader: _Loader, knode: yaml.Node, node: yaml.MappingNode, path: tuple[str, ...]) -> Option:
    from declos.config.typeexpr import parse_type

    fields = {k.value: v for k, v in node.value}
    unknown = set(fields) - OPTION_KEYS
    if unknown:
        raise _fail(loader, node, f"unknown declaration key(s) {', '.join(sorted(unknown))} for option "
                    f"`{'.'.join(path)}'. Known: {', '.join(sorted(OPTION_KEYS))}.")
    values = {k: loader.construct_object(v, deep=True) for k, v in fields.items() if k != "options"}
    sub = None
    if "options" in fields:
        sub = YamlModule(loader.source, options=_options(loader, fields["options"], ()), line=_line(fields["options"]))
        sub.key = f"{loader.display}#{'.'.join(path)}"
    where = f"{loader.display}:{_line(knode)}"
    typ = parse_type(values["type"], sub, where) if "type" in values else None
    option = Option(
        typ,
        values.get("default", NO_VALUE),
        values.get("description"),
        example=values.get("example", NO_VALUE),
        default_text=values.get("default_text"),
        read_only=bool(values.get("read_only", False)),
        internal=bool(values.get("internal", False)),
        visible=values.get("visible", True),
    )
    option.file = str(loader.source)
    option.line = _line(knode)
    return option
