from declos.config import Option, mk_before, mk_default, mk_force, mk_if, mk_merge, types

options = {"value": Option(types.anything)}
config = mk_merge(
    [
        {"value": {"mkiffalse": mk_if(False, {})}},
        {"value": {"mkiftrue": mk_if(True, {})}},
        {"value": {"mkdefault": mk_default(0)}},
        {"value": {"mkdefault": 1}},
        {"value": {"mkmerge": mk_merge([{}])}},
        {"value": {"mkbefore": mk_before(True)}},
        {
            "value": {
                "nested": mk_merge(
                    [
                        {"foo": mk_default(0), "bar": mk_if(False, 0)},
                        mk_if(
                            True,
                            {
                                "foo": mk_if(True, mk_force(1)),
                                "bar": {"baz": mk_default("baz")},
                            },
                        ),
                    ]
                )
            }
        },
    ]
)
