"""declos.config: the module system (NixOS semantics for YAML and Python modules).

`evaluate(paths)` loads the modules (plus the standard library in `modules/` unless
`bare`), evaluates them as one configuration and checks assertions; the returned
`Evaluation` is read on demand through `.config`, `.value()` and `.to_json()`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from declos.config import types
from declos.config.errors import EvaluationError
from declos.config.evalmodules import EvalResult
from declos.config.evaluation import Evaluation
from declos.config.lib import LIB, mk_enable_option
from declos.config.loaders import collect
from declos.config.modules import InlineModule, Module
from declos.config.option import Option, literal_expression
from declos.config.packageoption import mk_package_option
from declos.config.properties import (
    lazy,
    mk_after,
    mk_before,
    mk_default,
    mk_definition,
    mk_force,
    mk_if,
    mk_merge,
    mk_option_default,
    mk_order,
    mk_override,
)
from declos.config.renames import (
    do_rename,
    mk_alias_option_module,
    mk_changed_option_module,
    mk_merged_option_module,
    mk_removed_option_module,
    mk_renamed_option_module,
)
from declos.config.runtime import Runtime, gc_paused
from declos.config.submodule import Submodule
from declos.config.usercode import output_to_stderr

__all__ = [
    "Evaluation",
    "EvaluationError",
    "Option",
    "evaluate",
    "lazy",
    "literal_expression",
    "mk_after",
    "mk_before",
    "mk_default",
    "mk_definition",
    "mk_enable_option",
    "eval_modules",
    "mk_force",
    "mk_if",
    "mk_merge",
    "mk_option_default",
    "mk_order",
    "mk_package_option",
    "mk_override",
    "mk_alias_option_module",
    "mk_changed_option_module",
    "mk_merged_option_module",
    "mk_removed_option_module",
    "mk_renamed_option_module",
    "do_rename",
    "stdlib_entry",
    "types",
]

_CORE = Path(__file__).with_name("core.py")
_MODULE_OPTIONS = Path(__file__).with_name("moduleoptions.py")


def stdlib_entry() -> Path:
    """The standard module library's entry file.

    `$DECLOS_MODULES` (a file, or a directory holding module-list.yaml) wins; otherwise
    `modules/module-list.yaml` next to the `declos` package (the source checkout), else the
    copy shipped inside an installed wheel (`declos/_modules`).
    """
    env = os.environ.get("DECLOS_MODULES")
    if env:
        path = Path(env)
        return path / "module-list.yaml" if path.is_dir() else path
    checkout = Path(__file__).resolve().parents[2] / "modules" / "module-list.yaml"
    if checkout.is_file():
        return checkout
    return Path(__file__).resolve().parents[1] / "_modules" / "module-list.yaml"


def evaluate(
    paths: Sequence[str | os.PathLike[str] | Mapping[str, Any] | Module],
    *,
    bare: bool = False,
    special_args: Mapping[str, Any] | None = None,
    class_: str | None = None,
    checks: bool = True,
) -> Evaluation:
    """Evaluate `paths` as one module set; raises EvaluationError with a full message.

    `special_args` are given to every module function by name and are the only values
    an `imports` function may use (NixOS `specialArgs`); `modules_path` (the standard
    library's directory, against which `disabled_modules` entries are resolved) is
    added unless given. `class_` is NixOS's `class`: a module whose `_class` is another
    class is refused; module functions (and `imports` functions) receive it as `_class`.
    `checks=False` (with `bare`): no `assertions`/`warnings` options, nothing checked,
    only the module system's `_module` options (NixOS's evalModules; `lib.eval_modules`).
    """
    roots: list[Module | Path] = [_CORE if checks or not bare else _MODULE_OPTIONS]
    library = stdlib_entry().parent
    special = {"modules_path": str(library), **(special_args or {})}
    if not bare:
        entry = stdlib_entry()
        if not entry.is_file():
            raise EvaluationError(
                f"The standard module library was not found at `{entry}'.\n"
                "Hint: set DECLOS_MODULES to the modules/ directory, or evaluate with --bare."
            )
        roots.append(entry)
    for i, item in enumerate(paths):
        if isinstance(item, Module):
            roots.append(item)
        elif isinstance(item, Mapping):
            roots.append(InlineModule.from_spec(item, "<unknown-file>", None, f"<inline-{i}>"))
        else:
            roots.append(Path(item))
    with gc_paused(), output_to_stderr():
        rt = Runtime(special, FULL_LIB)
        library_path = Path(rt.special["modules_path"])
        modules = collect(roots, {**rt.special, "_class": class_}, library_path, class_)
        ev = Evaluation(rt, modules)
        ev.sources = roots
        ev.special_given = dict(special)
        ev.module_class = class_
        ev.setup()
        # The package set reads `pkgs.overlays` from this evaluation's config.
        bind = getattr(type(rt.pkgs), "bind_config", None)
        if bind is not None:
            bind(rt.pkgs, ev.config)
        ev.run_pending()
        ev.check_declared()
        if checks or not bare:
            _check_assertions(ev)
    return ev


def eval_modules(
    modules: Sequence[str | os.PathLike[str] | Mapping[str, Any] | Module],
    *,
    class_: str | None = None,
    special_args: Mapping[str, Any] | None = None,
) -> EvalResult:
    """NixOS `lib.evalModules { modules; class; specialArgs; }` from inside a module (as
    `lib.eval_modules`): a separate bare evaluation (no standard library), run when the
    result's `config` or `options` is first read; its `class` is `class_`, its `type` the
    submodule type of the same modules (`Option(lib.eval_modules(...).type)`)."""
    items = [Path(m) if isinstance(m, str | os.PathLike) else m for m in modules]
    caller = sys._getframe(1)
    submodule = Submodule(
        *items,
        special_args=special_args,
        shorthand_only_defines_config=False,
        module_class=class_,
        _where=(caller.f_code.co_filename, caller.f_lineno),
    )
    return EvalResult(
        lambda: evaluate(items, bare=True, special_args=special_args, class_=class_, checks=False),
        class_,
        submodule,
    )


FULL_LIB = SimpleNamespace(**vars(LIB), eval_modules=eval_modules)
"""`lib` as module functions receive it: the helpers, plus `eval_modules`."""


def _check_assertions(ev: Evaluation) -> None:
    failed = [a["message"] for a in ev.config.assertions if not a["assertion"]]
    if failed:
        raise EvaluationError("Failed assertions:\n" + "\n".join(f"- {m}" for m in failed))
    seen: set[str] = set()
    for warning in ev.config.warnings:
        if warning not in seen:
            seen.add(warning)
            ev.warnings.append(warning)
