from declos.config import Option, types
options = {'b.y': Option(types.int, 1, 'y')}
def config(config, **_):
    return {'a.x': config.b.y + 1}
