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
from declos.config.locations import display_path, split_key
from declos.config.modules import Module, module_class_of
from declos.config.option import NO_VALUE, Option
from declos.config.packageoption import SAME_AS_NAME, mk_package_option
from declos.config.renames import from_import_entry
from declos.config.typeexpr import parse_type
from declos.config.usercode import check_text
from declos.config.yamlbuild import Builder, Marked, unmark

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
OPTION_KEYS = {
    "type",
    "default",
    "description",
    "example",
    "default_text",
    "read_only",
    "internal",
    "visible",
    "options",
}
PACKAGE_KEYS = {"package", "nullable", "extra_description", "pkgs_text"}
"""`package: NAME` declares NixOS's `mkPackageOption pkgs NAME {...}` (with these keys,
`default` and `example` as mk_package_option takes them)."""


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class YamlModule(Module):
    kind = "yaml"

    def __init__(self, path: Path, key: Any = None, **kw: Any) -> None:
        super().__init__(str(path), str(key) if key is not None else str(path), **kw)
        self.path = path
        self._nodes: Any = None

    def _root(self) -> Any:
        """The file's node tree, composed again on first use (errors only)."""
        if self._nodes is None:
            try:
                self._nodes = (
                    yaml.compose(self.path.read_text(encoding="utf-8"), Loader=_BaseLoader) or False
                )
            except (OSError, yaml.YAMLError):
                self._nodes = False
        return self._nodes

    def locate_import(self, index: int) -> int | None:
        root = self._root()
        if not isinstance(root, yaml.MappingNode):
            return None
        for k, v in root.value:
            if isinstance(k, yaml.ScalarNode) and k.value == "imports":
                if isinstance(v, yaml.SequenceNode) and index < len(v.value):
                    return _line(v.value[index])
                return _line(k)
        return None

    def locate(self, section: str, path: Sequence[str]) -> int | None:
        root = self._root()
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
        parts = split_key(k.value)
        if path[: len(parts)] == parts:
            rest = path[len(parts) :]
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
        data = path.read_bytes()
    except OSError as exc:
        raise EvaluationError(f"cannot read module `{display}': {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        check_text(data, display)
        raise
    loader = _BaseLoader(text)
    builder = Builder(loader, display, path)
    try:
        builder.get()  # StreamStart
        start = builder.get()
        if isinstance(start, yaml.StreamEndEvent):
            return YamlModule(path, config={})
        root = builder.get()
        if isinstance(root, yaml.MappingStartEvent) and root.tag in (
            None,
            "!",
            "tag:yaml.org,2002:map",
        ):
            module = _module_from_root(builder, path)
        elif root.tag in WRAPPER_TAGS:
            module = YamlModule(path, config=builder.value(root), line=root.start_mark.line + 1)
        elif isinstance(root, yaml.ScalarEvent) and root.value == "" and root.implicit[0]:
            module = YamlModule(path, config={})
        else:
            raise builder.fail(
                root,
                "a YAML module must be a mapping (imports/options/config or option definitions).",
            )
        builder.get()  # DocumentEnd
        if isinstance(builder.get(), yaml.DocumentStartEvent):
            raise EvaluationError(
                f"{display}: a module file holds one YAML document; split the others into their own files."
            )
        return module
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise EvaluationError(
            f"{display}:{line}: invalid YAML: character #x{exc.character:04x} is not allowed "
            f"({exc.reason}).\nHint: module files are text; remove the control character."
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{display}:{mark.line + 1}" if mark else display
        problem = getattr(exc, "problem", None) or str(exc)
        raise EvaluationError(f"{where}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()


WRAPPER_TAGS = ("!if", "!override", "!order", "!default", "!force", "!before", "!after", "!merge")


class _TopLevel:
    """What the top-level keys of a YAML module file say, gathered key by key."""

    def __init__(self) -> None:
        self.imports: list[Any] = []
        self.key: Any = None
        self.module_class: str | None = None
        self.disabled: list[Any] = []
        self.options: list[tuple[tuple[str, ...], Option]] = []
        self.freeform: Any = None
        self.explicit_config: Any = None
        self.pairs: list[tuple[Any, int, Any]] = []
        """Shorthand definitions: (name, line, value)."""

    def read(self, builder: Builder, path: Path, name: Any, line: int) -> None:
        """Consume the value of the top-level key `name` (at `line`)."""
        display = builder.display
        if name == "imports":
            self.imports = _imports(builder.value(), path, display, line)
        elif name == "key":
            self.key = builder.value()
        elif name == "_class":
            self.module_class = module_class_of(builder.value(), f"{display}:{line}")
        elif name == "disabled_modules":
            self.disabled = builder.value()
            if not isinstance(self.disabled, list):
                raise EvaluationError(
                    f"{display}:{line}: `disabled_modules' must be a list of module paths or {{key: ...}}."
                )
        elif name == "options":
            self.options = _options(builder, builder.marked(), (), line)
        elif name == "freeform_type":
            self.freeform = parse_type(builder.value(), None, f"{display}:{line}")
        elif name == "config":
            value = builder.value()
            self.explicit_config = {} if value is None else value
        elif not isinstance(name, str):
            raise EvaluationError(f"{display}:{line}: option names must be strings, not {name!r}.")
        else:
            self.pairs.append((name, line, builder.value()))

    def config(self, display: str) -> Any:
        """The module's definitions: the explicit `config`, or the shorthand keys (not both)."""
        if (self.explicit_config is not None or self.options) and self.pairs:
            name, line, _ = self.pairs[0]
            others = ", ".join(n for n, _, _ in self.pairs)
            raise EvaluationError(
                f"{display}:{line}: Module `{display}' has an unsupported attribute `{name}'. This is caused by introducing "
                "a top-level `config' or `options' attribute. Add configuration attributes immediately on the top "
                f"level instead, or move all of them (namely: {others}) into the explicit `config' attribute."
            )
        if self.explicit_config is not None:
            return self.explicit_config
        return {name: value for name, _, value in self.pairs}


def _module_from_root(builder: Builder, path: Path) -> YamlModule:
    top = _TopLevel()
    lines: dict[Any, int] = {}
    while True:
        key_event = builder.get()
        if isinstance(key_event, yaml.MappingEndEvent):
            break
        name = builder.value(key_event)
        line = key_event.start_mark.line + 1
        if isinstance(name, str):
            if name in lines:
                raise builder.duplicate(key_event, name, lines[name])
            lines[name] = line
        top.read(builder, path, name, line)
    module = YamlModule(
        path,
        top.key,
        imports=top.imports,
        options=top.options,
        config=top.config(builder.display),
        freeform=top.freeform,
        line=1,
        disabled=top.disabled,
    )
    module.module_class = top.module_class
    return module


def _imports(value: Any, path: Path, display: str, line: int) -> list[Any]:
    """Module paths (relative to this file) and rename entries (`declos.config.renames`)."""
    if not isinstance(value, list):
        value = None
    out: list[Any] = []
    for item in value or [None]:
        if isinstance(item, str):
            out.append(path.parent / item)
        elif isinstance(item, dict):
            out.append(from_import_entry(item, (str(path), line)))
        else:
            raise EvaluationError(
                f"{display}:{line}: `imports' must be a list of module paths (relative to this file)."
            )
    return out


def _is_declaration(value: Marked) -> bool:
    keys = [k for k, _, _ in value]
    if "type" in keys:
        return True
    if any(k == "package" and not isinstance(v, Marked) for k, _, v in value):
        return True  # `package: NAME` (a mapping there is an option named `package')
    return (
        bool(keys)
        and all(k in OPTION_KEYS for k in keys)
        and ("default" in keys or "description" in keys)
    )


def _options(
    builder: Builder, value: Any, prefix: tuple[str, ...], line: int
) -> list[tuple[tuple[str, ...], Option]]:
    display = builder.display
    if not isinstance(value, Marked):
        raise EvaluationError(
            f"{display}:{line}: `options' must be a mapping of option names to declarations."
        )
    out: list[tuple[tuple[str, ...], Option]] = []
    for key, key_line, item in value:
        if not isinstance(key, str) or not key:
            raise EvaluationError(
                f"{display}:{key_line}: option names must be non-empty strings, not {key!r}."
            )
        path = (*prefix, *split_key(key))
        if isinstance(item, Marked) and _is_declaration(item):
            out.append((path, _declaration(builder, item, path, key_line)))
        elif isinstance(item, Marked):
            out.extend(_options(builder, item, path, key_line))
        else:
            raise EvaluationError(
                f"{display}:{key_line}: expected an option declaration at option path `{'.'.join(path)}` "
                "(a mapping with `type', `default', `description'...)."
            )
    return out


def path_of(builder: Builder) -> Path:
    """The module file a module builder reads (always set for module files)."""
    if builder.loader_path is None:
        raise ValueError("a module builder needs the module's path")
    return builder.loader_path


def _package_declaration(
    builder: Builder, values: dict[str, Any], path: tuple[str, ...], line: int
) -> Option:
    """`package: NAME` (or an attribute path list): NixOS `mkPackageOption pkgs NAME`."""
    where = f"{builder.display}:{line}"
    if "package" not in values:
        extra = ", ".join(sorted(PACKAGE_KEYS & set(values)))
        raise EvaluationError(
            f"{where}: {extra} only go with `package: NAME' (a package option) in the declaration of `{'.'.join(path)}'."
        )
    wrong = sorted(set(values) - PACKAGE_KEYS - {"default", "example", "internal", "visible"})
    if wrong:
        raise EvaluationError(
            f"{where}: a package option (`package:') takes no {', '.join(wrong)}: its type, "
            "description and default text follow from the package name (NixOS mkPackageOption)."
        )
    for key in ("package", "default", "example"):
        value = values.get(key)
        if key in values and not _is_name_or_path(value, key != "package"):
            raise EvaluationError(
                f"{where}: `{key}' of a package option must be a package name or a list of names "
                f"(an attribute path in pkgs){', or null' if key != 'package' else ''}, not {value!r}."
            )
    option = mk_package_option(
        None,
        values["package"],
        nullable=bool(values.get("nullable", False)),
        default=values.get("default", SAME_AS_NAME),
        example=values.get("example"),
        extra_description=str(values.get("extra_description", "")),
        pkgs_text=str(values.get("pkgs_text", "pkgs")),
        _where=(str(builder.loader_path), line),
    )
    option.internal = bool(values.get("internal", False))
    option.visible = values.get("visible", True)
    return option


def _is_name_or_path(value: Any, nullable: bool) -> bool:
    if value is None:
        return nullable
    if isinstance(value, str):
        return value != ""
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _declaration(builder: Builder, fields: Marked, path: tuple[str, ...], line: int) -> Option:
    values: dict[str, Any] = {}
    sub = None
    for key, sub_line, value in fields:
        if key == "options":
            sub = YamlModule(
                path_of(builder), options=_options(builder, value, (), sub_line), line=sub_line
            )
            sub.key = f"{path_of(builder)}#{'.'.join(path)}"
        elif key in OPTION_KEYS or key in PACKAGE_KEYS:
            values[key] = unmark(value) if isinstance(value, Marked) else value
        else:
            known = OPTION_KEYS | PACKAGE_KEYS
            unknown = sorted(str(k) for k, _, _ in fields if k not in known)
            raise EvaluationError(
                f"{builder.display}:{line}: unknown declaration key(s) {', '.join(unknown)} for option "
                f"`{'.'.join(path)}'. Known: {', '.join(sorted(known))}."
            )
    if "package" in values or PACKAGE_KEYS & set(values):
        return _package_declaration(builder, values, path, line)
    typ = parse_type(values["type"], sub, f"{builder.display}:{line}") if "type" in values else None
    return Option(
        typ,
        values.get("default", NO_VALUE),
        values.get("description"),
        example=values.get("example", NO_VALUE),
        default_text=values.get("default_text"),
        read_only=bool(values.get("read_only", False)),
        internal=bool(values.get("internal", False)),
        visible=values.get("visible", True),
        _where=(str(builder.loader_path), line),
    )
