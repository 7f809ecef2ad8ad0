def config(config):
    table = {}
    return table["missing"]
