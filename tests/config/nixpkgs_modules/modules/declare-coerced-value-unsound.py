from declos.config import Option, types

options = {"value": Option(types.coerced_to(types.str, int, types.ints.s8), default="12")}
