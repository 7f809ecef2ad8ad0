from declos.config import Option, types
from declos.config.typesys import OptionType


class Foo(OptionType):
    """default-type-merge-payload.nix's `fooOf`: a custom type whose declarations merge
    (NixOS: a functor with a payload and a binOp keeping the left one)."""

    name = "foo"
    description = "foo"

    def __init__(self, elem: OptionType) -> None:
        self.elem = elem

    def type_merge(self, other: OptionType) -> OptionType | None:
        return self if isinstance(other, Foo) else None


imports = [
    {"options": {"foo": Option(Foo(types.int))}},
    {"options": {"foo": Option(Foo(types.int))}},
]


def config(options):
    return {"result": "ok" if options.foo.type.name == "foo" else "not merged"}


options = {"result": Option()}
