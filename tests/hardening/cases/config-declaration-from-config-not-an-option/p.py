from declos.config import lazy

options = {"x": lazy(lambda config: "not an option")}
config = {"x": 1}
