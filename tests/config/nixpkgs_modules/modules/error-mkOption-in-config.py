from declos.config import Option

config = {"wrong1": Option(), "nest": {"wrong2": Option()}}
