# types-attrTag.nix's `submodules` option and `okChecks` (modules.sh 215), imported by
# types-attrTag.py (a file of its own so that the lines its error checks name stay put).
# declos's declarations are F:L (NixOS's: files), so the file parts are compared;
# declos knows no column of a declaration.
from pathlib import Path

from declos.config import Option, lazy, types
from declos.config.locations import display_path

MAIN = display_path(Path(__file__).with_name("types-attrTag.py"))
HERE = display_path(__file__)
imports = ["docs.py"]
options = {
    "submodules": Option(
        types.attrs_of(
            types.attr_tag(
                {
                    "foo": Option(types.submodule({"options": {"bar": Option(types.int)}})),
                    "qux": Option(types.str, description="A qux for when you don't want a foo"),
                }
            )
        )
    ),
    "okChecks": Option(),
}


def _files(declarations):
    return [d.partition(":")[0] for d in declarations]


def _ok(config, options):
    merged_sub = options.merged.type.get_sub_options(options.merged.loc)["extensible"]
    assert config.intStrings.hello == {"right": "hello world"}
    assert config.intStrings.numberOne == {"left": 1}
    assert config.merged.negative == {"nay": False}
    assert config.merged.positive == {"yay": 100}
    assert config.merged["extensi-foo"] == {"extensible": "foo"}
    assert config.merged["extensi-bar"] == {"extensible": "bar"}
    docs = config.docs
    assert docs["submodules.<name>.foo.bar"]["type"] == "signed integer"
    qux = docs["submodules.<name>.qux"]
    assert qux["type"] == "string"
    assert _files(qux["declarations"]) == [HERE]
    assert qux["loc"] == ["submodules", "<name>", "qux"]
    assert qux["name"] == "submodules.<name>.qux"
    assert qux["description"] == "A qux for when you don't want a foo"
    assert qux["readOnly"] is False
    assert qux["visible"] is True
    assert _files(options.submodules.declarations) == [HERE]
    assert len(options.submodules.declarationPositions) == 1
    assert options.submodules.declarationPositions[0]["file"] == HERE
    assert _files(options.merged.declarations) == [MAIN, MAIN]
    positions = options.merged.declarationPositions
    assert len(positions) == 2
    assert positions[0]["file"] == positions[1]["file"] == MAIN
    assert positions[0]["line"] != positions[1]["line"]
    assert _files(merged_sub.declarations) == [MAIN, MAIN]
    positions = merged_sub.declarationPositions
    assert len(positions) == 2
    assert positions[0]["file"] == positions[1]["file"] == MAIN
    assert positions[0]["line"] != positions[1]["line"]
    assert len(docs["merged.<name>.extensible"]["declarations"]) == 2
    return True


def config(options):
    return {"okChecks": lazy(lambda config: _ok(config, options))}
