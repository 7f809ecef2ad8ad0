from declos.config import Option, lazy, mk_if, types

options = {
    "value": Option(types.lazy_attrs_of(types.str), {}),
    "conditionalWorks": Option(types.bool),
}
config = {
    "value.foo": mk_if(False, "absent"),
    "conditionalWorks": lazy(lambda config: "foo" not in config.value),
}
