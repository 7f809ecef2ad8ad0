from declos.config import Option, lazy, mk_merge, types


def config(options):
    """Feed the flags' definitions into argv: the float from the-defs-file.nix must cause
    a type error naming that file."""
    return {"argv": lazy(lambda: mk_merge(options["flags"].valueMeta.definitions))}


imports = [{"_file": "the-defs-file.nix", "config": {"flags": {"my-flag": 3.14}}}]
options = {
    "flags": Option(
        types.attr_list_with(types.anything, as_attrs=True, merge_attr_values=lambda _n, vs: vs[0])
    ),
    "argv": Option(types.list_of(types.str)),
}
