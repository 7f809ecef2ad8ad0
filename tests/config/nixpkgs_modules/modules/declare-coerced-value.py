from declos.config import Option, types

options = {"value": Option(types.coerced_to(types.int, str, types.str), default=42)}
