from declos.config import Option, types

options = {"b": Option(types.bool, False), "s": Option(types.str, "off")}


def config(config):
    if config.b:
        return {"s": "on"}
    return {}
