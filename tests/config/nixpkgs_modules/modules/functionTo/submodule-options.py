from declos.config import Option, lazy, mk_merge, types
from declos.config.messages import show_path


def _unused_input():
    raise AssertionError("shouldn't use input param")


def _result(config):
    value = config.fun(_unused_input)
    return " ".join(value[k] for k in sorted(value) if k != "_module")


def config(options):
    """Nix's default of `optionsResult`, as a config-function definition (declos declares
    options before module arguments exist)."""

    def result():
        subs = options["fun"].type.get_sub_options(["fun"])
        return " ".join(show_path(v.loc) for k, v in subs.items() if k != "_module")

    return {"optionsResult": lazy(result), "fun": mk_merge([lambda _input: {"b": "bee"}])}


imports = [
    {"options": {"fun": Option(types.function_to(types.submodule({"a": Option(default="a")})))}},
    {"options": {"fun": Option(types.function_to(types.submodule({"b": Option(default="b")})))}},
]
options = {
    "result": Option(types.str, default=lazy(_result)),
    "optionsResult": Option(types.str),
}
