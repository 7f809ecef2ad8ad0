def config(config, **_):
    return None
