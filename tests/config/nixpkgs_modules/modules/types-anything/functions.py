from declos.config import Option, lazy, mk_merge, types

# lib.mapAttrs is lazy per attribute: a lazy_attrs_of option over the (known) names.
_NAMES = ("single-lambda", "multiple-lambdas", "merging-lambdas")
options = {
    "valueIsFunction": Option(
        types.lazy_attrs_of(types.bool),
        default={k: lazy(lambda c, k=k: callable(c.value[k])) for k in _NAMES},
    ),
    "value": Option(types.anything),
    "applied": Option(
        types.lazy_attrs_of(types.anything),
        default={k: lazy(lambda c, k=k: c.value[k](None)) for k in _NAMES},
    ),
}
config = mk_merge(
    [
        {
            "value": {
                "single-lambda": lambda x: x,
                "multiple-lambdas": lambda x: {"x": x},
                "merging-lambdas": lambda x: {"x": x},
            }
        },
        {"value": {"multiple-lambdas": lambda x: [x], "merging-lambdas": lambda y: {"y": y}}},
    ]
)
