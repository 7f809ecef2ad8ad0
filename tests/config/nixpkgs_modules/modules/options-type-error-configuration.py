from declos.config import eval_modules

# an unlikely mistake, but any attribute set with a `_type' is caught
options = {"result": eval_modules(modules=[])}
