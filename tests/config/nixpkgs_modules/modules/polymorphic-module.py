from declos.config import Option


def imports(_class):
    return [
        {"options": {"foo": Option(default="bar")}} if _class == "nixos" else {},
        {"options": {"bar": Option(default="foo")}} if _class == "darwin" else {},
    ]
