from declos.config import Option, mk_override

# Nix: options.foo = mkOption { default = _class; }. A declos module declares its options
# before any argument exists, so the default (priority 1500) is defined by its function.
options = {"foo": Option()}


def config(_class):
    return {"foo": mk_override(1500, _class)}
