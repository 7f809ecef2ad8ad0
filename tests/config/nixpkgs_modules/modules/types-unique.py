from declos.config import Option, mk_force, types

options = {
    "examples": Option(
        types.lazy_attrs_of(
            types.unique(
                types.attrs_of(types.str),
                "We require a single definition, because seeing the whole value at once helps us "
                "maintain critical invariants of our system.",
            )
        )
    )
}
imports = [
    {"examples": {"merged": {"b": "bee"}}},
    {"examples": {"override": mk_force({"b": "bee"})}},
]
config = {
    "examples": {
        "merged": {"a": "aye"},
        "override": {"a": "aye"},
        "badLazyType": {"a": True},
    }
}
