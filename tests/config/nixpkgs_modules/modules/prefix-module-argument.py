from declos.config import Option, types


def _foo(_prefix):
    assert _prefix == ["foo"]
    return {"ok": True}


# Nix's definition is a function module declaring `ok` itself; a declos submodule's
# options come from its type, and the definition is a config function.
options = {"foo": Option(types.submodule({"ok": Option()}), default={})}
config = {"foo": _foo}
