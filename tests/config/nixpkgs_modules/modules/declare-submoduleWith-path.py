from pathlib import Path

from declos.config import Option, types

_HERE = Path(__file__).parent
options = {
    "submodule": Option(types.submodule_with(modules=[_HERE / "declare-enable.yaml"]), default={})
}
config = {"submodule": _HERE / "define-enable.yaml"}
