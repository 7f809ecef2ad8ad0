def config(config):
    return ["services.openssh.enable", True]
