# The options and definitions of types-attrTag.nix; its `okChecks` option (assertions on
# the generated option docs, through docs.nix) is not translated. NixOS's attrsOf computes a
# value only when it is read; declos's attrs_of computes all of them (so the first bad
# one would answer every query): lazy_attrs_of stands in for attrsOf here.
from declos.config import Option, lazy, mk_merge, types


def _throw():
    raise ValueError("do not eval")


options = {
    "intStrings": Option(
        types.lazy_attrs_of(types.attr_tag({"left": Option(types.int), "right": Option(types.str)}))
    ),
    "nested": Option(
        types.attr_tag(
            {
                "left": Option(types.int),
                "right": Option(
                    types.attr_tag({"left": Option(types.int), "right": Option(types.str)})
                ),
            }
        )
    ),
    "merged": Option(
        types.lazy_attrs_of(
            types.attr_tag({"yay": Option(types.int), "extensible": Option(types.enum(["foo"]))})
        )
    ),
}
imports = [
    {
        "options": {
            "merged": Option(
                types.lazy_attrs_of(
                    types.attr_tag(
                        {"nay": Option(types.bool), "extensible": Option(types.enum(["bar"]))}
                    )
                )
            )
        }
    }
]
config = {
    "intStrings": {
        "syntaxError": 1,
        "syntaxError2": {},
        "syntaxError3": {"a": True, "b": True},
        "syntaxError4": mk_merge([{"a": True}, {"b": True}]),
        "mergeError": mk_merge([{"int": lazy(_throw)}, {"string": lazy(_throw)}]),
        "badTagError": {"rite": lazy(_throw)},
        "badTagTypeError": {"left": "bad"},
        "numberOne": {"left": 1},
        "hello": {"right": "hello world"},
    },
    "nested": {"right": {"left": "not a number"}},
    "merged": {
        "negative": {"nay": False},
        "positive": {"yay": 100},
        "extensi-foo": {"extensible": "foo"},
        "extensi-bar": {"extensible": "bar"},
    },
}

# modules.sh 215: the documentation checks of the same Nix file.
imports.append("types-attrTag-okChecks.py")
