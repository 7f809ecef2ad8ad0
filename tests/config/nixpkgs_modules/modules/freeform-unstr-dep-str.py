from declos.config import Option, lazy, mk_if, types

options = {"value": Option(types.null_or(types.str), default=None)}
config = {"foo": mk_if(lazy(lambda c: c.value is not None), lazy(lambda c: c.value))}
