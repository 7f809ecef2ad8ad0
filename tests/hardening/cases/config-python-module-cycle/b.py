from declos.config import Option, types

options = {"b": Option(types.int)}


def config(config):
    return {"a": config.b + 1}
