from declos.config import Option, lazy


def _throw():
    raise ValueError("is not lazy")


options = {"isLazy": Option(default=lazy(lambda c: "foo" not in c.value))}
config = {"value": {"bar": lazy(_throw)}}
