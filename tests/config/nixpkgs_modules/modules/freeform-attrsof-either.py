from declos.config import Option, types

options = {
    "number": Option(
        types.submodule({"freeform_type": types.attrs_of(types.either(types.int, types.int))}),
        default={"int": 42},
    )
}
