from declos.config import Option, types

options = {
    "fooDeclarations": Option(types.raw),
    "free": Option(
        types.submodule(
            {"freeform_type": types.attrs_of(types.submodule({"foo": Option()}, {"bar": Option()}))}
        )
    ),
}


# NixOS computes fooDeclarations' default from `options`; declos declares options before
# the module arguments exist, so it is a definition here.
def config(options):
    free = options.free.type.get_sub_options([])
    return {
        # declos declarations are F:L, NixOS's are files: the file part is compared.
        "fooDeclarations": [
            d.partition(":")[0] for d in free["_freeformOptions"]["foo"]["declarations"]
        ],
        "free": {"xxx": {"foo": 10}, "yyy": {"bar": 10}},
    }
