from declos.config import types

options = {"result": types.str}
