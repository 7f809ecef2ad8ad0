# specialArgs.lib = lib // { foo = "foo"; } in the original: declos's `lib` is always its
# own, so the special arg is given under its own name.
from declos.config import Option, types


def _config(foo):
    return {"foo": foo}


options = {
    "submodule": Option(
        types.submodule_with(
            modules=[{"options": {"foo": Option()}, "config": _config}],
            special_args={"foo": "foo"},
        ),
        default={},
    )
}
