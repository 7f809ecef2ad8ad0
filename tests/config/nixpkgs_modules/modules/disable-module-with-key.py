"""lib/tests/modules/disable-module-with-key.nix."""

from declos.config import Option, types

module_with_key = {"key": "disable-module-with-key.nix#moduleWithKey", "config": {"enable": True}}
options = {
    "positive": Option(types.submodule({"imports": ["declare-enable.yaml", module_with_key]}), {}),
    "negative": Option(
        types.submodule(
            {
                "imports": ["declare-enable.yaml", module_with_key],
                "disabled_modules": [module_with_key],
            }
        ),
        {},
    ),
}
