from declos.config import Option, lazy, types

print("printed while loading")
options = {"x": Option(types.int)}


def config(config):
    print("printed while running")
    return {"x": lazy(lambda: print("printed while forcing") or 7)}
