from declos.config import Option, types

options = {"n": Option(types.int, default=1), "me": Option(types.module_type, default={})}
