from declos.config import Option, lazy, types

imports = [
    # generic module, declaring submodules nodes.<name> and default, where all nodes
    # include the default
    {
        "options": {
            "nodes": Option(
                types.lazy_attrs_of(types.submodule(lazy(lambda config: config.default))),
                default={},
            ),
            "default": Option(
                types.deferred_module,
                default={},
                description="Module that is included in all nodes.",
            ),
        }
    },
    {
        "config": {
            "default": {
                "options": {
                    "settingsDict": Option(types.lazy_attrs_of(types.str), default={}),
                    "bottom": Option(types.enum([])),
                }
            }
        }
    },
    {"default": "define-settingsDict-a-is-b.yaml"},
    {"nodes": {"foo": {"settingsDict": {"b": "beta"}}}},
    {"default": {"bottom": "bogus"}},
    {
        "nodes": {
            "foo": lambda config: {"settingsDict": {"c": lazy(lambda: config.settingsDict["a"])}}
        }
    },
]
