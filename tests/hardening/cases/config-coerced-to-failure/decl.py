from declos.config import Option, types

options = {"port": Option(types.coerced_to(types.str, int, types.port))}
