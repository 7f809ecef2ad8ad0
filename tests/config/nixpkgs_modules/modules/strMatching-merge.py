from declos.config import Option, types

imports = [
    {"options": {"sm": Option(types.str_matching(r"\(.*\)"))}},
    {"options": {"sm": Option(types.str_matching(r"\(.*\)"))}},
]
