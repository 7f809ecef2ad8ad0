from declos.config import Option, types

_SUB = {"options": {"config": Option(types.bool, False)}}
options = {"submodule": Option(types.submodule_with(modules=[_SUB]), default={})}
