from declos.config import Option, lazy, types

options = {"value": Option(types.attrs_of(types.str), {}), "isLazy": Option(types.bool)}


def _boom():
    raise ValueError("is not lazy")


config = {
    "value.bar": lazy(_boom),
    "isLazy": lazy(lambda config: "foo" not in config.value),
}
