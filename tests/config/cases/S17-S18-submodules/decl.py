from declos.config import Option, types

options = {
    "sub": Option(
        types.submodule({"a": Option(types.int, 0), "b": Option(types.int, 0)}), {"a": 5}
    ),
    "users": Option(
        types.attrs_of(types.submodule(lambda name: {"home": Option(types.str, "/home/" + name)}))
    ),
}
