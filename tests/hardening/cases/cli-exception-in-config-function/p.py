def config(config, **_):
    return {'networking.hostName': 1 / 0}
