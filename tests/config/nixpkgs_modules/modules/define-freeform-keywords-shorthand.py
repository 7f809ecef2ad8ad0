from declos.config import lazy


def _result(config):
    # Nix removes `_module`; declos's core options `assertions` and `warnings` too
    r = {k: v for k, v in config.items() if k not in ("_module", "assertions", "warnings")}
    return r == {"a": "one", "b": "two", "class": {"just": "data"}, "meta": "meta"}


# A shorthand module: `class` and `meta` are definitions like any other key.
config = {
    "class": {"just": "data"},
    "a": "one",
    "b": "two",
    "meta": "meta",
    "_module": {"args": {"result": lazy(_result)}},
}
