from declos.config import mk_default, mk_if, mk_merge

imports = [{"value": mk_default("def")}]
config = {"value": mk_merge([mk_if(False, "nope"), "yes"])}
