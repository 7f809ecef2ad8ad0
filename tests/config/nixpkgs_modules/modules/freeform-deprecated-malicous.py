# declos reads a freeform type T as attrs_of(T) (what NixOS's deprecation warning asks
# for: "ensure that it is preceded by an 'attrsOf'"), so each freeform value is checked.
from declos.config import Option, types

options = {
    "either": Option(types.submodule({"freeform_type": types.either(types.int, types.int)})),
    "eitherBehindNullor": Option(
        types.submodule({"freeform_type": types.null_or(types.either(types.int, types.int))})
    ),
    "oneOf": Option(types.submodule({"freeform_type": types.one_of([types.int, types.int])})),
    "number": Option(types.submodule({"freeform_type": types.number})),
}
