from pathlib import Path

from declos.config import Option, types

HERE = Path(__file__).parent

# class-check.nix without its evalModules values (ok, fail, fail-anon: class-check-eval.py)
# and without mergeFail (class-check-merge.py): declos merges declarations when the
# evaluation starts, so the conflicting one would stop every read.
options = {
    "sub": {
        "nixosOk": Option(
            types.submodule_with(class_="nixos", modules=[HERE / "assert-module-class-is-nixos.py"])
        ),
        "nixosFail": Option(types.submodule_with(class_="nixos", modules=[])),
    }
}
config = {
    "sub": {
        "nixosOk": {"_class": "nixos"},
        "nixosFail": {"imports": ["module-class-is-darwin.yaml"]},
    }
}
