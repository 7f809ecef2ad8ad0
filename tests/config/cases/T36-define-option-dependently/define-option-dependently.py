from declos.config import Option, types

options = {"value": Option(types.ints.positive)}


def config(options):
    if "enable" in options:
        return {"value": 360, "enable": True}
    return {"value": 7}
