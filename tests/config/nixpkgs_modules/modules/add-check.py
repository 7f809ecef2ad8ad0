from declos.config import Option, types

_V1 = types.add_check(types.int, lambda v: v == 0)
_V2 = types.add_check(types.attrs_of(types.int), lambda v: "foo" in v)
options = {
    "v1CheckedPass": Option(_V1, 0),
    "v1CheckedFail": Option(_V1, 1),
    "v2checkedPass": Option(_V2, {"foo": 1}, apply=lambda v: v["foo"] == 1),
    "v2checkedFail": Option(_V2, {}),
}
