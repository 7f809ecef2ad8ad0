from declos.config import Option, types

options = {
    "examples": Option(
        types.lazy_attrs_of(
            types.unique(
                types.attrs_of(types.str),
                "We require a single definition, because seems like a good idea.",
            )
        )
    )
}
