"""lib/tests/modules/doRename-basic.nix: `doRename {warn = true; use = id; visible = true}`
is `mk_renamed_option_module` (whose `use` only adds a trace)."""

from declos.config import Option, mk_renamed_option_module

imports = [mk_renamed_option_module(["a", "b"], ["c", "d", "e"])]
options = {"c.d.e": Option()}
config = {"a.b": 1234}
