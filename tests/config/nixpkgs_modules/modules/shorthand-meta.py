from declos.config import Option, lazy, types

imports = [
    {
        "options": {
            "meta.foo": Option(types.list_of(types.str)),
            "result": Option(default=lazy(lambda c: " ".join(c.meta.foo))),
        }
    },
    {"meta": {"foo": ["one", "two"]}},
]
