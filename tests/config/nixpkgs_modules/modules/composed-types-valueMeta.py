from declos.config import Option, lazy, types


def _attrs_of_module():
    return Option(types.attrs_of(types.submodule({"bar": Option(types.int)})))


def _list_of_module():
    return Option(types.list_of(types.submodule({"bar": Option(types.int)})))


def _module_d(options):
    def first_bar(name):
        return lambda: options[name].valueMeta.list[0].configuration.options.bar.value

    return {
        "listOfModule": [{"bar": 42}],
        "mergedListOfModule": [{"bar": 42}],
        "listResult": lazy(first_bar("listOfModule")),
        "mergedListResult": lazy(first_bar("mergedListOfModule")),
    }


imports = [
    {  # module A
        "options": {
            "attrsOfModule": _attrs_of_module(),
            "mergedAttrsOfModule": _attrs_of_module(),
            "listOfModule": _list_of_module(),
            "mergedListOfModule": _list_of_module(),
        }
    },
    {  # module B
        "options": {
            "mergedAttrsOfModule": _attrs_of_module(),
            "mergedListOfModule": _list_of_module(),
        }
    },
    {  # values, in a module of their own
        "attrsOfModule": {"foo": {"bar": 42}},
        "mergedAttrsOfModule": {"foo": {"bar": 42}},
    },
    {"options": {"listResult": Option(), "mergedListResult": Option()}, "config": _module_d},
]
