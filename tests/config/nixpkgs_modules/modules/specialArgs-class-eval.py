from pathlib import Path

from declos.config import Option, types

HERE = Path(__file__).parent

# specialArgs-class.nix's lib.evalModules values (each a `raw` option here, see
# class-check-eval.py).
options = {
    "nixos": Option(types.raw),
    "conditionalImportAsNixos": Option(types.raw),
    "conditionalImportAsDarwin": Option(types.raw),
}


def config(lib):
    return {
        "nixos": lib.eval_modules(class_="nixos", modules=[HERE / "expose-module-class.py"]),
        "conditionalImportAsNixos": lib.eval_modules(
            class_="nixos", modules=[HERE / "polymorphic-module.py"]
        ),
        "conditionalImportAsDarwin": lib.eval_modules(
            class_="darwin", modules=[HERE / "polymorphic-module.py"]
        ),
    }
