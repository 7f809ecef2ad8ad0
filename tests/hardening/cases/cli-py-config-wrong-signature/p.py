def config():
    return {}
