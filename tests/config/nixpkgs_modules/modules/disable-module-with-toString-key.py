from pathlib import Path

from declos.config import Option, types

_HERE = Path(__file__).parent
_WITH_KEY = {"key": 123, "config": {"enable": True}}
options = {
    "positive": Option(
        types.submodule({"imports": [_HERE / "declare-enable.yaml", _WITH_KEY]}), default={}
    ),
    "negative": Option(
        types.submodule(
            {"imports": [_HERE / "declare-enable.yaml", _WITH_KEY], "disabled_modules": [123]}
        ),
        default={},
    ),
}
