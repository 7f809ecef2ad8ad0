from declos.config import Option, mk_enable_option

imports = [
    {"options": {"group": Option()}},
    {"options": {"group.enable": mk_enable_option("nothing")}},
]
config = {"group": {"enable": False}}
