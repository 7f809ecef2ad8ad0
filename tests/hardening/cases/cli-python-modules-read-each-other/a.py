from declos.config import Option, types
imports = ['b.py']
options = {'a.x': Option(types.int, 1, 'x')}
def config(config, **_):
    return {'b.y': config.a.x + 1}
