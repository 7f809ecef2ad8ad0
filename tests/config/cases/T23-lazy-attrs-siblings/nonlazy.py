from declos.config import Option, lazy, types

options = {"x": Option(types.attrs_of(types.int), {}), "result": Option(types.int)}
config = {
    "x.bar": lazy(lambda config: config.x.baz + 1),
    "x.baz": 10,
    "result": lazy(lambda config: config.x.bar),
}
