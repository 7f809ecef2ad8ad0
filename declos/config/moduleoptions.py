"""The module system's own options (NixOS's `_module` of lib/modules.nix): every
evaluation has them, `lib.eval_modules` ones too; `config._module` is not part of the
configuration's value."""

from declos.config import types
from declos.config.option import Option

options = {
    "_module.args": Option(
        types.lazy_attrs_of(types.raw),
        {},
        "Arguments every module function receives by name, in addition to `config`, `pkgs`, "
        "`lib`, `options` and the special args (NixOS `_module.args`). They cannot decide "
        "`imports` (that needs `special_args`).",
        internal=True,
    ),
    "_module.check": Option(
        types.bool,
        True,
        "Whether definitions of options that no module declares are errors (NixOS `_module.check`).",
        internal=True,
    ),
}
