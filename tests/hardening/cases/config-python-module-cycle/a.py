from declos.config import Option, types

options = {"a": Option(types.int)}


def config(config):
    return {"b": config.a + 1}
