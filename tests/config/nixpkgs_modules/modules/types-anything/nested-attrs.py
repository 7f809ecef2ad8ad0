from declos.config import Option, mk_merge, types

options = {"value": Option(types.anything)}
config = mk_merge(
    [
        {"value": {"foo": None}},
        {"value": {"l1": {"foo": None}}},
        {"value": {"l1": {"l2": {"foo": None}}}},
        {"value": {"l1": {"l2": {"l3": {"foo": None}}}}},
    ]
)
