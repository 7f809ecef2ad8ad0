from declos.config import Option, types

options = {"bare-submodule": Option(types.submodule({"nested": Option(types.int, 1)}), {})}
