"""`lib`: the helper namespace module functions and templates receive.

It holds the property helpers, the types and a few list/string helpers that NixOS
modules commonly use, so a Python module body needs no imports to be written.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from declos.config import types
from declos.config.doclist import option_attr_set_to_doc_list
from declos.config.option import Option, literal_expression
from declos.config.packageoption import mk_package_option
from declos.config.properties import (
    lazy,
    map_definition_value,
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
from declos.config.render import escape_nix_identifier, show_attr_path


def mk_enable_option(name: str) -> Option:
    """NixOS `mkEnableOption`: a bool defaulting to false, "Whether to enable NAME."."""
    return Option(types.BOOL, False, f"Whether to enable {name}.", example=True, _depth=2)


def optional(condition: bool, value: Any) -> list[Any]:
    """[value] if condition else [] (NixOS `lib.optional`)."""
    return [value] if condition else []


def optionals(condition: bool, values: Iterable[Any]) -> list[Any]:
    return list(values) if condition else []


def optional_string(condition: bool, text: str) -> str:
    return text if condition else ""


def concat_strings_sep(sep: str, items: Iterable[Any]) -> str:
    return sep.join(str(i) for i in items)


LIB = SimpleNamespace(
    types=types,
    Option=Option,
    mk_option=Option,
    mk_enable_option=mk_enable_option,
    mk_package_option=mk_package_option,
    literal_expression=literal_expression,
    mk_default=mk_default,
    mk_definition=mk_definition,
    map_definition_value=map_definition_value,
    option_attr_set_to_doc_list=option_attr_set_to_doc_list,
    mk_force=mk_force,
    mk_override=mk_override,
    mk_before=mk_before,
    mk_after=mk_after,
    mk_order=mk_order,
    mk_if=mk_if,
    mk_merge=mk_merge,
    mk_option_default=mk_option_default,
    lazy=lazy,
    mk_renamed_option_module=mk_renamed_option_module,
    do_rename=do_rename,
    mk_alias_option_module=mk_alias_option_module,
    mk_removed_option_module=mk_removed_option_module,
    mk_changed_option_module=mk_changed_option_module,
    mk_merged_option_module=mk_merged_option_module,
    optional=optional,
    optionals=optionals,
    optional_string=optional_string,
    concat_strings_sep=concat_strings_sep,
    show_attr_path=show_attr_path,
    escape_nix_identifier=escape_nix_identifier,
)
