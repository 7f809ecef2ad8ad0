from declos.config import Option, mk_if, types

options = {
    "int": Option(types.lazy_attrs_of(types.int)),
    "list": Option(types.lazy_attrs_of(types.list_of(types.int))),
    "nonEmptyList": Option(types.lazy_attrs_of(types.non_empty_list_of(types.int))),
    "attrs": Option(types.lazy_attrs_of(types.attrs_of(types.int))),
    "null": Option(types.lazy_attrs_of(types.null_or(types.int))),
    "submodule": Option(types.lazy_attrs_of(types.submodule({}))),
}
config = {
    name: {"a": mk_if(False, None)}
    for name in ("int", "list", "nonEmptyList", "attrs", "null", "submodule")
}
