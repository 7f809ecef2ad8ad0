from declos.config import Option, lazy, mk_merge, types

_INPUT = {"a": "a", "b": "b", "c": "c"}
options = {
    "fun": Option(types.function_to(types.list_of(types.str))),
    "result": Option(types.str, default=lazy(lambda c: " ".join(c.fun(_INPUT)))),
}
config = {"fun": mk_merge([lambda i: [i["a"]], lambda i: [i["b"]]])}
