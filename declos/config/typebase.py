"""The option type protocol (NixOS `mkOptionType`) and the bracket rule of descriptions.

Every option type derives from `OptionType`; `phrase` is how a type names another one
inside its own description.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from declos.config.merge import ABSENT, merge_equal
from declos.config.messages import Definition


class OptionType:
    """Base: a named type with a shallow check, a merge and (maybe) an empty value."""

    name = "unspecified"
    description = "unspecified value"
    description_class: str | None = None
    """NixOS `descriptionClass`: "noun", "conjunction", "composite", "nonRestrictiveClause"
    or None; it decides the brackets when the type is named inside another one."""
    nested = False
    """True for submodules: they accept option declarations below them."""
    attr_set_valued = False
    """True for types of whole attribute sets keyed by name (attrs_of, attr_list_of): a
    freeform type that is one types the freeform set itself; any other type T types
    each freeform value (read as attrs_of(T), as NixOS asks freeform types to be)."""

    def check(self, value: Any) -> bool:
        return True

    def merge(self, ev: Any, loc: Sequence[str], defs: Sequence[Definition]) -> Any:
        return merge_equal(loc, defs)

    def empty_value(self, ev: Any, loc: Sequence[str]) -> Any:
        return ABSENT

    def type_merge(self, other: OptionType) -> OptionType | None:
        """The type two declarations of one option share, or None (NixOS `typeMerge`)."""
        if type(other) is type(self) and self._params() == other._params():
            return self
        return None

    def _params(self) -> tuple[Any, ...]:
        return ()

    def sub_options(self) -> tuple[str, Any] | None:
        """(placeholder, submodule type) for option docs, e.g. ("<name>", sub)."""
        return None

    def get_sub_options(self, prefix: Sequence[str]) -> Any:
        """NixOS `type.getSubOptions prefix`: the options declared below an option of this
        type at `prefix`, with the type's placeholders in their `loc` (`<name>`, `*`,
        `<function body>`); an empty dict for a type without sub-options."""
        sub = self.sub_options()
        if sub is None:
            return {}
        placeholder, subtype = sub
        return subtype.declared_options((*prefix, *(p for p in placeholder.split(".") if p)))

    def __repr__(self) -> str:
        return f"<type {self.description}>"


NOUN = frozenset({"noun"})
NOUN_COMPOSITE = frozenset({"noun", "composite"})
NOUN_CONJUNCTION = frozenset({"noun", "conjunction"})
NOUN_CONJUNCTION_COMPOSITE = frozenset({"noun", "conjunction", "composite"})


def phrase(t: OptionType, bare: frozenset[str]) -> str:
    """NixOS `optionDescriptionPhrase`: `t`'s description, in brackets unless its class is
    one of `bare` (so `list of (null or string)`, `null or signed integer or string`)."""
    return t.description if t.description_class in bare else f"({t.description})"
