from declos.config import Option, types

# v2-check-coherence.nix without its ad-hoc types (`type // { check = ...; }`, a Nix
# attribute-set override with no Python counterpart): the addCheck and plain cases.
options = {
    "addCheckPass": Option(
        types.lazy_attrs_of(types.add_check(types.lazy_attrs_of(types.raw), lambda v: "foo" in v)),
        default={},
    ),
    "addCheckFail": Option(
        types.lazy_attrs_of(types.add_check(types.lazy_attrs_of(types.raw), lambda v: "foo" in v)),
        default={},
    ),
    "normalPass": Option(types.lazy_attrs_of(types.attrs_of(types.int)), default={}),
    "result": Option(types.bool, default=False),
}
config = {
    "addCheckPass": {"bar": {"foo": "value"}},
    "addCheckFail": {"bar": {"baz": "value"}},  # lacks the required `foo'
    "normalPass": {"foo": {"bar": 42}},
    "result": True,
}
