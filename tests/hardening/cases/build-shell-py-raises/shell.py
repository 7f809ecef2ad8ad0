"""A shell file whose function fails (a typo in a key)."""

def shell(pkgs):
    return {"env": {}}["nope"]
