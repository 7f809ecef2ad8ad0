from declos.config import Option, lazy, types

options = {
    "fun": Option(types.function_to(types.str)),
    "result": Option(types.str, default=lazy(lambda c: c.fun(0))),
}
config = {"fun": lambda i: i + 1}
