from declos.config import Option, types

options = {
    "free": Option(
        types.submodule(
            {"freeform_type": types.attrs_of(types.submodule({"foo": Option()}, {"bar": Option()}))}
        )
    )
}
config = {"free": {"xxx": {"foo": 10}, "yyy": {"bar": 10}}}
