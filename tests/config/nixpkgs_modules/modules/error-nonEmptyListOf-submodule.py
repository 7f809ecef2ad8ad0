from declos.config import Option, types

options = {"bad": Option(types.non_empty_list_of(types.submodule({})), default=[])}
