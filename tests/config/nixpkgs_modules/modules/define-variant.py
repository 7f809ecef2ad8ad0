# The results are `lazy`: every variant runs this module again, and reading
# config.variants... while the module runs would never end (Nix is lazy everywhere).
from declos.config import Option, lazy, types

options = {
    "attrs": Option(types.attrs_of(types.int)),
    "result": Option(),
    "resultFoo": Option(),
    "resultFooBar": Option(),
    "resultFooFoo": Option(),
}


def config(config):
    return {
        "attrs": {"a": 1},
        "variants": {
            "foo": {
                "attrs": {"b": 1},
                "variants": {"bar": {"attrs": {"z": 1}}, "foo": {"attrs": {"c": 3}}},
            },
            "bar": {"attrs": {"y": 1}},
        },
        "resultFoo": lazy(lambda: " ".join(sorted(config.variants.foo.attrs))),
        "resultFooBar": lazy(lambda: " ".join(sorted(config.variants.foo.variants.bar.attrs))),
        "resultFooFoo": lazy(lambda: " ".join(sorted(config.variants.foo.variants.foo.attrs))),
    }
