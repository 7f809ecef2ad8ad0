from declos.config import Option, do_rename, lazy, mk_enable_option, types

# doRename-condition.nix: a single-instance services.foo migrated to services.foos.<name>,
# the legacy instance being services.foos."".
options = {
    "services": {
        "foo": {"enable": mk_enable_option("foo")},
        "foos": Option(types.attrs_of(types.submodule({"bar": Option(types.str)})), default={}),
    },
    "result": Option(),
}
imports = [
    do_rename(
        ["services", "foo", "bar"],
        ["services", "foos", "", "bar"],
        visible=True,
        warn=False,
        use=lambda x: x,
        with_priority=True,
        condition=lazy(lambda config: config.services.foo.enable),
    )
]
