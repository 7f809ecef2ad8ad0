from declos.config import Option, types

options = {"bare-submodule.deep": Option(types.int, default=2)}
