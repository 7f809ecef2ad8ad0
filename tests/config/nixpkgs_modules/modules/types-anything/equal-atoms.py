from pathlib import Path

from declos.config import Option, mk_merge, types

options = {"value": Option(types.anything)}
_ONE = {
    "value": {
        "int": 0,
        "bool": False,
        "string": "",
        "path": str(Path(__file__).parent),
        "null": None,
        "float": 0.1,
        "list": [1, "a", {"x": None}],
    }
}
config = mk_merge([_ONE, {"value": dict(_ONE["value"])}])
