from declos.config import Option, lazy, types

_NESTED = types.submodule({"nested": Option(types.int, 1)})


def config(options):
    """Nix's default of `result`, as a config-function definition (declos declares
    options before module arguments exist)."""

    def result():
        merged = options["mergedName"]
        return ".".join(merged.type.get_sub_options(merged.loc)["nested"].loc)

    return {"result": lazy(result)}


# Module B's attrs_of has NixOS's default placeholder `name`: type merging keeps `id`.
imports = [
    {"options": {"mergedName": Option(types.attrs_with(_NESTED, placeholder="id"), default={})}},
    {"options": {"mergedName": Option(types.attrs_of(types.submodule({})))}},
    {"options": {"result": Option(types.str)}},
]
