from declos.config import mk_if

imports = [mk_if(True, {"enable": True})]
