from declos.config import Option, lazy, types


def _lazy():
    return Option(types.attrs_with(types.int, lazy=True))


def _strict():
    return Option(types.attrs_with(types.int))


imports = [
    {
        "options": {
            "mergedLazyLazy": _lazy(),
            "mergedLazyNonLazy": _lazy(),
            "mergedNonLazyNonLazy": _strict(),
        }
    },
    {
        "options": {
            "mergedLazyLazy": _lazy(),
            "mergedLazyNonLazy": _strict(),
            "mergedNonLazyNonLazy": _strict(),
        }
    },
    {
        "options": {"lazyResult": Option(default=lazy(lambda c: c.mergedLazyLazy["bar"]))},
        "config": {
            "mergedLazyLazy": {"bar": lazy(lambda c: c.mergedLazyLazy["baz"] + 1), "baz": 10}
        },
    },
]
