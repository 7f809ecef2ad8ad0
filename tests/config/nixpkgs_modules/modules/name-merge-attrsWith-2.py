from declos.config import Option, types

_NESTED = types.submodule({"nested": Option(types.int, 1)})
imports = [
    {"options": {"mergedName": Option(types.attrs_with(_NESTED, placeholder="id"), default={})}},
    {"options": {"mergedName": Option(types.attrs_with(types.submodule({}), placeholder="other"))}},
]
