"""Renamed, aliased, removed and changed options (NixOS `doRename` and friends).

Each function returns a module to put into `imports` (Python: the module object; YAML:
a mapping such as `{mk_renamed_option_module: [old.path, new.path]}`).

A rename or alias is a `Redirect` in the option tree: definitions under the old path are
routed to the new path, keeping their priorities (NixOS `mkAliasAndWrapDefsWithPriority`)
and their own file:line, and reading the old path reads the new one. A renamed option
adds NixOS's warning when it is defined; a removed option fails an assertion when it is
defined and is an error when read.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from declos.config.errors import EvaluationError
from declos.config.locations import display_path, split_path
from declos.config.messages import show_path
from declos.config.modules import InlineModule, Module, Redirect
from declos.config.option import Option
from declos.config.properties import If, Lazy

Path = Sequence[str] | str
"""An option path: a list of names, or dotted text (`"services.sshd"`)."""

MERGED_SENTINEL = "_mkMergedOptionModule"
"""The default of the old options of a changed/merged option: "not defined"."""


def mk_renamed_option_module(source: Path, target: Path) -> Module:
    """`source` was renamed to `target`: definitions move over, with a warning."""
    return _redirect_module(Redirect(_parts(source), _parts(target), "renamed"), _caller())


def mk_alias_option_module(source: Path, target: Path) -> Module:
    """`source` is another name for `target` (no warning)."""
    return _redirect_module(Redirect(_parts(source), _parts(target), "alias"), _caller())


def mk_removed_option_module(path: Path, replacement_instructions: str) -> Module:
    """`path` no longer exists: defining it fails an assertion, reading it is an error."""
    redirect = Redirect(_parts(path), (), "removed", replacement_instructions)
    return _redirect_module(redirect, _caller())


def do_rename(
    from_: Path,
    to: Path,
    *,
    visible: bool = False,
    warn: bool = False,
    use: Callable[[Any], Any] | None = None,
    with_priority: bool = True,
    condition: Any = True,
) -> Module:
    """NixOS `doRename { from, to, visible, warn, use, withPriority, condition }`, the
    generic form of the renames above: definitions of `from_` go to `to` (with their
    priorities) when `condition` holds (a bool, or `lazy(lambda config: ...)`), with
    NixOS's renamed warning if `warn`; reading `from_` reads `use(value of to)`.

    `visible` is accepted for NixOS's signature: declos's option documentation lists
    declared options only, never renamed paths. `with_priority=False` (NixOS's
    `mkAliasAndWrapDefinitions`, which merges the old definitions into one of normal
    priority) is not supported: definitions always keep their priorities."""
    del visible
    if not with_priority:
        raise ValueError(
            "do_rename: with_priority=False is not supported (declos keeps the priority of "
            "each renamed definition)"
        )
    kind = "renamed" if warn else "alias"
    redirect = Redirect(
        _parts(from_), _parts(to), kind, condition=None if condition is True else condition, use=use
    )
    return _redirect_module(redirect, _caller())


def mk_changed_option_module(source: Path, target: Path, change_fn: Callable[[Any], Any]) -> Module:
    """`source` became `target` with another type: `change_fn(config)` computes the new value."""
    return _merged([_parts(source)], _parts(target), lambda config: change_fn(config), _caller())


def mk_merged_option_module(
    sources: Sequence[Path], target: Path, merge_fn: Callable[[Any], Any]
) -> Module:
    """Several old options became `target`: `merge_fn(config)` computes its value when any
    of them is defined (unset ones read as "_mkMergedOptionModule", as in NixOS)."""
    return _merged([_parts(s) for s in sources], _parts(target), merge_fn, _caller())


def from_import_entry(entry: Mapping[str, Any], where: tuple[str, int]) -> Module:
    """A YAML `imports` entry such as `{mk_alias_option_module: [services.sshd, services.openssh]}`."""
    makers: dict[str, Callable[..., Module]] = {
        "mk_renamed_option_module": mk_renamed_option_module,
        "mk_alias_option_module": mk_alias_option_module,
        "mk_removed_option_module": mk_removed_option_module,
    }
    if len(entry) != 1 or next(iter(entry)) not in makers:
        raise EvaluationError(
            f"{where[0]}:{where[1]}: an `imports' entry that is a mapping must be one of "
            f"{', '.join(f'{{{k}: [OLD, NEW]}}' for k in makers)}, not {entry!r}."
        )
    name, args = next(iter(entry.items()))
    if not (isinstance(args, list) and len(args) == 2 and all(isinstance(a, str) for a in args)):
        raise EvaluationError(
            f"{where[0]}:{where[1]}: `{name}' takes a list of two strings, not {args!r}."
        )
    module = makers[name](*args)
    module.file, module.line = where
    module.key = f"{where[0]}#{name}:{args[0]}"
    return module


def _parts(path: Path) -> tuple[str, ...]:
    """A path as names (a list may hold "", an attribute named by the empty string)."""
    parts = tuple(split_path(path)) if isinstance(path, str) else tuple(path)
    named = all(isinstance(p, str) and (p or not isinstance(path, str)) for p in parts)
    if not parts or not named:
        raise EvaluationError(f"an option path must be a non-empty list of names, not {path!r}.")
    return parts


def _caller() -> tuple[str, int]:
    frame = sys._getframe(2)
    return frame.f_code.co_filename, frame.f_lineno


def _redirect_module(redirect: Redirect, where: tuple[str, int]) -> Module:
    source = redirect.source

    def config(options: Any) -> dict[str, Any]:
        node = _at(options, source)
        out: dict[str, Any] = {}
        if redirect.kind == "renamed" and "warnings" in options:
            out["warnings"] = Lazy(
                lambda: (
                    [
                        f"The option `{show_path(source)}' defined in {node.files()} has been renamed "
                        f"to `{show_path(redirect.target)}'."
                    ]
                    if node.is_defined
                    else []
                )
            )
        if redirect.kind == "removed" and "assertions" in options:
            out["assertions"] = Lazy(
                lambda: [
                    {
                        "assertion": not node.is_defined,
                        "message": f"The option definition `{show_path(source)}' in {node.files()} no "
                        f"longer has any effect; please remove it.\n{redirect.message}",
                    }
                ]
            )
        return out

    file, line = where
    module = InlineModule(
        display_path(file), f"{file}:{line}#{redirect.kind}:{show_path(source)}", config=config
    )
    module.line = line
    module.redirects.append(redirect)
    return module


def _merged(
    sources: list[tuple[str, ...]],
    target: tuple[str, ...],
    merge_fn: Callable[[Any], Any],
    where: tuple[str, int],
) -> Module:
    options = [(s, Option(None, MERGED_SENTINEL, visible=False, _where=where)) for s in sources]

    def config(config: Any, options: Any) -> dict[str, Any]:
        def defined() -> list[tuple[str, ...]]:
            return [s for s in sources if _at(config, s) != MERGED_SENTINEL]

        def warnings() -> list[str]:
            out = []
            for s in defined():
                files = " and ".join(f"`{f}'" for f in _at(options, s).files)
                out.append(
                    f"The option `{show_path(s)}' defined in {files} has been changed to "
                    f"`{show_path(target)}' that has a different type. Please read "
                    f"`{show_path(target)}' documentation and update your configuration "
                    "accordingly."
                )
            return out

        out: dict[str, Any] = {
            ".".join(f'"{p}"' if "." in p else p for p in target): If(
                Lazy(lambda: bool(defined())), Lazy(lambda: merge_fn(config))
            )
        }
        if "warnings" in options:
            out["warnings"] = Lazy(warnings)
        return out

    file, line = where
    module = InlineModule(
        display_path(file),
        f"{file}:{line}#changed:{','.join(map(show_path, sources))}",
        options=options,
        config=config,
    )
    module.line = line
    return module


def _at(view: Any, path: Sequence[str]) -> Any:
    for part in path:
        view = view[part]
    return view
