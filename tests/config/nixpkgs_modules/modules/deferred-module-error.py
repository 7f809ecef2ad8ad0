# Nix's message also names the anonymous module's key path, `(:anon-1:anon-1:anon-1)`, an
# internal of Nix's module collector; declos's names the function's line instead.
from declos.config import Option, lazy, types

options = {"deferred": Option(types.deferred_module), "result": Option()}


def _module():
    # this should be an attrset, so this fails
    return True


def config(config, lib):
    return {
        "deferred": _module,
        "result": lazy(lambda: lib.eval_modules(modules=[config.deferred]).config.result),
    }
