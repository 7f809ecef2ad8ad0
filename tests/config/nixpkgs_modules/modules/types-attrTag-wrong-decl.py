from declos.config import Option, types

options = {"opt": Option(types.attr_tag({"int": types.int}), default={"int": 1})}
