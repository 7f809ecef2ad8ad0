from declos.config import mk_if

config = mk_if(True, True)
