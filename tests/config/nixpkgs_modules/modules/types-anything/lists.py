from declos.config import Option, mk_merge, types

options = {"value": Option(types.anything)}
config = mk_merge([{"value": ["a value"]}, {"value": ["another value"]}])
