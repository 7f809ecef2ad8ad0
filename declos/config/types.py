"""The option types under their Python names (`types.str`, `types.list_of(types.int)`, ...).

This module only binds names: the classes live in `typesys`/`submodule`, because the
names below shadow the builtins `str`, `int`, `bool`, `float`.
"""

from __future__ import annotations

import builtins as _builtins
import json as _json
import re as _re
from collections.abc import Callable as _Callable
from collections.abc import Sequence as _Sequence
from types import SimpleNamespace as _NS
from typing import Any as _Any

from declos.config import typesys as _t
from declos.config.deferred import DeferredModule as _DeferredModule
from declos.config.metatypes import OptionDeclaration as _OptionDeclaration
from declos.config.metatypes import OptionTypeType as _OptionTypeType
from declos.config.serializable import SerializableValue as _SerializableValue
from declos.config.submodule import Submodule as _Submodule
from declos.config.submodule import module_type_with as _module_type_with
from declos.config.tagged import AttrList as _AttrList
from declos.config.tagged import AttrTag as _AttrTag

BOOL = _t.Scalar("bool", "boolean", lambda v: isinstance(v, _builtins.bool))
INT = _t.Scalar("int", "signed integer", _t._is_int)
FLOAT = _t.Scalar("float", "floating point number", lambda v: isinstance(v, _builtins.float))
STR = _t.Scalar("str", "string", _t._is_str)
PATH = _t.PathWith(absolute=True)

bool = BOOL  # noqa: A001 - the NixOS/Python type names are the API
int = INT  # noqa: A001
float = FLOAT  # noqa: A001
str = STR  # noqa: A001
path = PATH
number = _t.Either(INT, FLOAT)
non_empty_str = _t.Scalar(
    "nonEmptyStr", "non-empty string", lambda v: isinstance(v, _builtins.str) and v.strip() != ""
)
single_line_str = _t.Scalar(
    "singleLineStr",
    "(optionally newline-terminated) single-line string",
    lambda v: isinstance(v, _builtins.str) and "\n" not in v.rstrip("\n"),
)
lines = _t.SeparatedString("\n")
commas = _t.SeparatedString(",")
env_var = _t.SeparatedString(":")
port = _t.IntRange(0, 65535, "16 bit unsigned integer; between 0 and 65535 (both inclusive)")
package = _t.Package()
anything = _t.Anything()
raw = _t.Raw()
attrs = _t.Attrs()
unspecified = _t.Unspecified()
bool_by_or = _t.BoolByOr()

ints = _NS(
    between=_t.ints_between,
    unsigned=_t.IntRange(0, None, "unsigned integer, meaning >=0", "nonRestrictiveClause"),
    positive=_t.IntRange(1, None, "positive integer, meaning >0", "nonRestrictiveClause"),
    u8=_t.IntRange(0, 255, "8 bit unsigned integer; between 0 and 255 (both inclusive)"),
    u16=port,
    u32=_t.IntRange(
        0, 2**32 - 1, "32 bit unsigned integer; between 0 and 4294967295 (both inclusive)"
    ),
    s8=_t.IntRange(-128, 127, "8 bit signed integer; between -128 and 127 (both inclusive)"),
    s16=_t.IntRange(
        -32768, 32767, "16 bit signed integer; between -32768 and 32767 (both inclusive)"
    ),
    s32=_t.IntRange(
        -(2**31),
        2**31 - 1,
        "32 bit signed integer; between -2147483648 and 2147483647 (both inclusive)",
    ),
)


def _number_between(lowest: _Any, highest: _Any) -> _t.OptionType:
    """NixOS `numbers.between lowest highest`."""
    if lowest > highest:
        raise ValueError("numbers.between: lowest must be smaller than highest")
    shown = f"{_json.dumps(lowest)} and {_json.dumps(highest)} (both inclusive)"
    return _t.CheckedAs(
        number,
        lambda x: lowest <= x <= highest,
        "numberBetween",
        f"integer or floating point number between {shown}",
        None,
    )


numbers = _NS(
    between=_number_between,
    nonnegative=_t.CheckedAs(
        number,
        lambda x: x >= 0,
        "numberNonnegative",
        "nonnegative integer or floating point number, meaning >=0",
        "nonRestrictiveClause",
    ),
    positive=_t.CheckedAs(
        number,
        lambda x: x > 0,
        "numberPositive",
        "positive integer or floating point number, meaning >0",
        "nonRestrictiveClause",
    ),
)
"""NixOS `types.numbers`: integers or floats in a range."""


def passwd_entry(elem: _t.OptionType) -> _t.OptionType:
    """NixOS `passwdEntry`: `elem`, refusing strings with a colon or a newline (fields of
    /etc/passwd and /etc/group)."""
    return _t.CheckedAs(
        elem,
        lambda v: not (isinstance(v, _builtins.str) and (":" in v or "\n" in v)),
        f"passwdEntry {elem.name}",
        f"{_t.phrase(elem, _t.NOUN)}, not containing newlines or colons",
        "nonRestrictiveClause",
    )


def loa_of(elem: _t.OptionType) -> _t.AttrsOf:
    """NixOS's deprecated `loaOf` ("list or attribute set of"): lists are no longer
    accepted there, so it is `attrs_of(elem)`."""
    return _t.AttrsOf(elem)


def separated_string(sep: _builtins.str) -> _t.SeparatedString:
    return _t.SeparatedString(sep)


def enum(values: _Sequence[_Any]) -> _t.Enum:
    return _t.Enum(values)


def str_matching(pattern: _builtins.str) -> _t.StrMatching:
    _re.compile(pattern)
    return _t.StrMatching(pattern)


def null_or(elem: _t.OptionType) -> _t.NullOr:
    return _t.NullOr(elem)


def list_of(elem: _t.OptionType) -> _t.ListOf:
    return _t.ListOf(elem)


def non_empty_list_of(elem: _t.OptionType) -> _t.ListOf:
    return _t.NonEmptyListOf(elem)


def attrs_of(elem: _t.OptionType) -> _t.AttrsOf:
    return _t.AttrsOf(elem)


def lazy_attrs_of(elem: _t.OptionType) -> _t.AttrsOf:
    return _t.AttrsOf(elem, lazy=True)


def attrs_with(
    elem: _t.OptionType, lazy: _builtins.bool = False, placeholder: _builtins.str = "name"
) -> _t.AttrsOf:
    """NixOS `attrsWith { elemType, lazy, placeholder }`: attrs_of / lazy_attrs_of with the
    attribute's name in documentation paths (`<placeholder>`); declarations merge only
    with the same laziness and placeholder."""
    return _t.AttrsOf(elem, lazy=lazy, placeholder=placeholder)


def either(left: _t.OptionType, right: _t.OptionType) -> _t.Either:
    return _t.Either(left, right)


def one_of(choices: _Sequence[_t.OptionType]) -> _t.OptionType:
    if not choices:
        raise ValueError("one_of needs at least one type")
    result = choices[-1]
    for t in reversed(choices[:-1]):
        result = _t.Either(t, result)
    return result


def unique(elem: _t.OptionType, message: _builtins.str = "") -> _t.Unique:
    return _t.Unique(elem, message)


def coerced_to(
    from_type: _t.OptionType, fn: _Callable[[_Any], _Any], to_type: _t.OptionType
) -> _t.CoercedTo:
    return _t.CoercedTo(from_type, fn, to_type)


def submodule(*specs: _Any, description: _builtins.str | None = None) -> _Submodule:
    return _Submodule(*specs, description=description)


def submodule_with(
    modules: _Sequence[_Any] = (),
    special_args: _Any = None,
    shorthand_only_defines_config: _Any = False,
    description: _builtins.str | None = None,
    class_: _builtins.str | None = None,
) -> _Submodule:
    """NixOS `submoduleWith`: `modules` are the submodule's modules; `special_args` are
    given to its module functions; with `shorthand_only_defines_config`, a definition is
    always the instance's config (a key named `config` or `options` is an option name).
    `class_` (NixOS `class`): every module of an instance must have this `_class` or none;
    its module functions receive it as `_class`."""
    return _Submodule(
        *modules,
        description=description,
        special_args=special_args,
        shorthand_only_defines_config=shorthand_only_defines_config,
        module_class=class_,
    )


def module_type_with(modules: _Sequence[_Any] = ()) -> _Submodule:
    """The type of the evaluation that declares the option, with `modules` added: NixOS's
    `(extendModules { inherit modules; }).type` (see `module_type`)."""
    return _module_type_with(modules)


module_type = _module_type_with((), _where=(__file__, None))
"""NixOS's `moduleType` module argument as a type: a submodule of the declaring
evaluation's own modules (and `special_args`, `class`); an instance's definitions are
added as modules. `lazy_attrs_of(module_type)` nests variants of a whole configuration."""


def uniq(elem: _t.OptionType) -> _t.Unique:
    """NixOS `uniq`: exactly one definition (after priorities)."""
    return _t.Unique(elem, "")


def add_check(elem: _t.OptionType, check: _Callable[[_Any], _builtins.bool]) -> _t.OptionType:
    """NixOS `addCheck`: `elem` with an extra check; description and merge unchanged."""
    return _t.AddCheck(elem, check)


def function_to(elem: _t.OptionType) -> _t.FunctionTo:
    """NixOS `functionTo`: Python callables; the merged value calls every definition and
    merges their results with `elem`."""
    return _t.FunctionTo(elem)


path_in_store = _t.PathWith(in_store=True)
"""NixOS `pathInStore`: a path below an entry of the store (declos's store directory)."""
external_path = _t.PathWith(in_store=False, absolute=True)
"""NixOS `externalPath`: an absolute path outside the store."""


def path_with(
    in_store: _builtins.bool | None = None, absolute: _builtins.bool | None = None
) -> _t.PathWith:
    """NixOS `pathWith { inStore, absolute }`: None leaves that side open; declarations
    merge only with the same parameters. `in_store=True, absolute=False` is an error."""
    return _t.PathWith(in_store, absolute)


def serializable_value_with(
    type_name: _builtins.str, nullable: _builtins.bool = True
) -> _SerializableValue:
    """NixOS `serializableValueWith { typeName, nullable }`: null (if nullable), bool, int,
    float, str, path, and attribute sets and lists of those; "TYPE_NAME value"."""
    return _SerializableValue(type_name, nullable)


json = serializable_value_with("JSON")
"""NixOS `types.json`."""
toml = serializable_value_with("TOML", nullable=False)
"""NixOS `types.toml`."""

option_declaration = _OptionDeclaration()
"""NixOS `optionDeclaration`: values are `Option` declarations."""
option_type = _OptionTypeType()
"""NixOS `optionType`: values are types; several definitions merge like declarations."""

deferred_module = _DeferredModule()
"""NixOS `deferredModule`: definitions are modules; the value is a module importing them all."""


def deferred_module_with(static_modules: _Sequence[_Any] = ()) -> _DeferredModule:
    """NixOS `deferredModuleWith { staticModules }`: the static modules come first."""
    return _DeferredModule(static_modules)


def attr_tag(tags: _Any) -> _AttrTag:
    """NixOS `attrTag`: `{TAG: value}` with one of the tags, each an `Option` of its own."""
    return _AttrTag(tags)


def attr_list_of(elem: _t.OptionType) -> _AttrList:
    """NixOS `attrListOf`: an ordered list of single-key attribute sets (`mk_order` works)."""
    return _AttrList(elem)


def attr_list_with(
    elem: _t.OptionType,
    as_attrs: _builtins.bool = False,
    merge_attr_values: _Callable[[_builtins.str, list[_Any]], _Any] | None = None,
) -> _AttrList:
    """NixOS `attrListWith`: with `as_attrs`, the value is key -> merge_attr_values(key, values)."""
    return _AttrList(elem, as_attrs, merge_attr_values)


OptionType = _t.OptionType
