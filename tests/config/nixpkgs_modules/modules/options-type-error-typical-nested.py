from declos.config import types

options = {"result": {"here": types.str}}
