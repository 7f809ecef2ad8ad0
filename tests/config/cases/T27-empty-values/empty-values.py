from declos.config import Option, mk_if, types

options = {
    "list": Option(types.lazy_attrs_of(types.list_of(types.int))),
    "attrs": Option(types.lazy_attrs_of(types.attrs_of(types.int))),
    "null": Option(types.lazy_attrs_of(types.null_or(types.int))),
    "submodule": Option(types.lazy_attrs_of(types.submodule({}))),
    "int": Option(types.lazy_attrs_of(types.int)),
}
config = {name: {"a": mk_if(False, None)} for name in ("list", "attrs", "null", "submodule", "int")}
