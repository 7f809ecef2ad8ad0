from declos.config import Option, types

imports = [
    {"options": {"merged": Option(types.attr_list_of(types.str))}},
    {"options": {"merged": Option(types.attr_list_of(types.str))}},
]
