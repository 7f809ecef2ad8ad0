from declos.config import Option, mk_force, mk_if, mk_merge, types

options = {
    "processedToplevel": Option(types.raw),
    "multiple": Option(types.raw),
    "priorities": Option(types.raw),
}
config = {
    "processedToplevel": mk_if(True, 10),
    "multiple": mk_merge(["foo", "foo"]),
    "priorities": mk_merge(["foo", mk_force("bar")]),
}
