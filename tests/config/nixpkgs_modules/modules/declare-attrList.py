# The options and the invalid definitions of declare-attrList.nix (its `assertions`
# option, which compares every valid definition at once, is not translated). The
# `attrListStrict` wrappers only force Nix's laziness; declos queries `attrList.X`.
from declos.config import Option, mk_order, types

options = {
    "attrList": Option(types.lazy_attrs_of(types.attr_list_of(types.str))),
    "attrListInt": Option(types.lazy_attrs_of(types.attr_list_of(types.int))),
}
imports = [{"attrListInt": {"multiModule": [{"b": 2}]}}]
config = {
    "attrList": {
        "listInput": [{"a": "alpha"}, {"b": "beta"}],
        "attrsetOrdered": {"x": mk_order(200, "x-val"), "y": mk_order(100, "y-val")},
        "badListElem": [{"a": "ok", "b": "extra"}],
        "badString": "not-a-container",
        "badListString": ["not a singleton attribute"],
    },
    "attrListInt": {"multiModule": [{"a": 1}], "badValue": [{"a": "not-an-int"}]},
}
