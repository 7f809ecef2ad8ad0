# `(extendModules { modules = [...]; }).type` inside an option declaration is
# `types.module_type_with([...])` in declos (options are declared before module
# arguments exist; the `extend_modules` argument of module functions is NixOS's
# extendModules itself). The instance's own definition module ({value = 1}) must survive
# the re-collection of the extended modules (nixpkgs issue 168767).
from declos.config import Option, mk_override, types

imports = [
    {
        "options": {
            "sub": Option(
                types.submodule(
                    {
                        "options": {
                            "value": Option(types.int),
                            "specialisation": Option(
                                types.module_type_with([{"specialisation": mk_override(0, {})}]),
                                default={},
                            ),
                        }
                    }
                ),
                default={},
            )
        }
    },
    {"config": {"sub": {"value": 1}}},
]
