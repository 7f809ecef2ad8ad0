from pathlib import Path

from declos.config import Option, types

HERE = Path(__file__).parent

# specialArgs-class.nix without its evalModules values (nixos, conditionalImportAsNixos,
# conditionalImportAsDarwin at the top level).
options = {
    "sub": {
        "nixos": Option(
            types.submodule_with(class_="nixos", modules=[HERE / "expose-module-class.py"]),
            default={},
        ),
        "conditionalImportAsNixos": Option(
            types.submodule_with(class_="nixos", modules=[HERE / "polymorphic-module.py"]),
            default={},
        ),
        "conditionalImportAsDarwin": Option(
            types.submodule_with(class_="darwin", modules=[HERE / "polymorphic-module.py"]),
            default={},
        ),
    }
}
