from declos.config import Option, types

options = {
    "x": Option(types.int, 1, apply=lambda v: v // 0),
}
