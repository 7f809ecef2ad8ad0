from declos.config import Option, lazy, types

options = {
    "fun": Option(types.function_to(types.str)),
    "result": Option(types.str, default=lazy(lambda c: c.fun("input"))),
}
config = {"fun": lambda i: f"input is {i}"}
