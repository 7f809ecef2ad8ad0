from declos.config import Option, mk_force, mk_if, mk_merge, types

options = {name: Option(types.raw) for name in ("processedToplevel", "multiple", "priorities")}
config = {
    "processedToplevel": mk_if(True, 10),
    "multiple": mk_merge(["foo", "foo"]),
    "priorities": mk_merge(["foo", mk_force("bar")]),
}
