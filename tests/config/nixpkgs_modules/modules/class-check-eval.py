from pathlib import Path

from declos.config import Option, types

HERE = Path(__file__).parent

# class-check.nix's lib.evalModules values. Nix keeps them in a freeform `anything`,
# which declos would merge (and so evaluate) whole: here each is a `raw` option.
options = {"ok": Option(types.raw), "fail": Option(types.raw), "fail-anon": Option(types.raw)}


def config(lib):
    return {
        "ok": lib.eval_modules(
            class_="nixos",
            modules=[HERE / "module-class-is-nixos.yaml", HERE / "assert-module-class-is-nixos.py"],
        ),
        "fail": lib.eval_modules(
            class_="nixos",
            modules=[HERE / "module-class-is-nixos.yaml", HERE / "module-class-is-darwin.yaml"],
        ),
        "fail-anon": lib.eval_modules(
            class_="nixos",
            modules=[
                HERE / "module-class-is-nixos.yaml",
                {
                    "_file": "foo.nix#darwinModules.default",
                    "_class": "darwin",
                    "config": {},
                    "imports": [],
                },
            ],
        ),
    }
