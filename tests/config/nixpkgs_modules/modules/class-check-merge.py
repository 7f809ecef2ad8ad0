from declos.config import Option, types

# class-check.nix's mergeFail: one submodule_with option declared with two classes.
options = {
    "sub": {
        "mergeFail": Option(types.submodule_with(class_="nixos", modules=[]), default={}),
    }
}
imports = [
    {"options": {"sub": {"mergeFail": Option(types.submodule_with(class_="darwin", modules=[]))}}}
]
