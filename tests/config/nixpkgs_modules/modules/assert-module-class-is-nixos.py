def config(_class):
    assert _class == "nixos"
    return {}
