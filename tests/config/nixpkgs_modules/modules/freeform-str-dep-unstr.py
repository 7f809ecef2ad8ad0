from declos.config import Option, lazy, mk_if, types

options = {"foo": Option(types.null_or(types.str), default=None)}


def config(config):
    return {"foo": mk_if("value" in config, lazy(lambda c: c.value))}
