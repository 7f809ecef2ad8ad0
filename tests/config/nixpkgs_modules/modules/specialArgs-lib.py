# specialArgs.lib replaces `lib` in the submodule's module functions (NixOS allows a
# completely custom lib). The definition module's options are a dict module of their own
# here (declos declares options before module functions run).
from declos.config import Option, lazy, mk_if, mk_merge, types

options = {
    "result": Option(),
    "weird": Option(types.submodule_with(special_args={"lib": {}}, modules=[])),
}


def _weird(**args):
    assert args["lib"] == {}
    assert args["special_args"] == {"lib": {}}
    return {"foo": mk_if(True, "alright")}


def _result(config):
    assert config.weird.foo == "alright"
    return "ok"


config = {
    "weird": mk_merge([{"options": {"foo": Option()}}, _weird]),
    "result": lazy(_result),
}
