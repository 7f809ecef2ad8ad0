from declos.config import Option, types

_TEN = "abcdefghij"
options = {f"{a}{b}{c}": Option(types.bool, False) for a in _TEN for b in _TEN for c in _TEN} | {
    name: Option(types.bool, False) for name in ("enable", "enabled", "disable")
}
config = {"enble": True}
