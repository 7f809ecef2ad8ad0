from declos.config import Option, lazy, mk_force, mk_merge, types

_INPUT = {"a": "a", "b": "b", "c": "c"}
options = {
    "fun": Option(types.function_to(types.attrs_of(types.str))),
    # attrValues: the values in the order of their sorted names
    "result": Option(
        types.str, default=lazy(lambda c: " ".join(v for _, v in sorted(c.fun(_INPUT).items())))
    ),
}
config = {
    "fun": mk_merge(
        [lambda i: {"a": i["a"]}, lambda i: {"b": i["b"]}, lambda i: {"b": mk_force(i["c"])}]
    )
}
