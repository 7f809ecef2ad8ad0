from declos.config import Option, lazy, mk_merge, types


def _unused_input():
    raise AssertionError("shouldn't use input param")


def _result(config):
    value = config.fun(_unused_input)
    return " ".join(value[k] for k in sorted(value) if k != "_module")


# Nix's optionsResult (options.fun.type.getSubOptions) is not translated (modules.sh 613).
imports = [
    {"options": {"fun": Option(types.function_to(types.submodule({"a": Option(default="a")})))}},
    {"options": {"fun": Option(types.function_to(types.submodule({"b": Option(default="b")})))}},
]
options = {"result": Option(types.str, default=lazy(_result))}
config = {"fun": mk_merge([lambda _input: {"b": "bee"}])}
