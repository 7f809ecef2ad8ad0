"""mk_definition (NixOS mkDefinition { file, value }) in Python and as YAML `!definition`."""

from __future__ import annotations

from typing import Any

import pytest

from declos.config import evaluate, mk_definition, mk_if, mk_merge, mk_order, mk_override
from declos.config.lib import LIB


def test_yaml_definition_names_its_file_in_messages(modules: Any, eval_error: Any) -> None:
    files = modules(
        a__yaml="options:\n  x: {type: int}\n  y: {type: int}\n",
        b__yaml="x: !definition {file: generated.nix, value: 1}\ny: !definition {file: g, value: !force 3}\n",
        c__yaml="x: 2\ny: 4\n",
    )
    assert eval_error(files, "x") == (
        "The option `x' has conflicting definition values:\n"
        "- In `generated.nix': 1\n- In `c.yaml:1': 2\n"
        "Use `!force value` or `!default value` (YAML), or `mk_force(value)` or "
        "`mk_default(value)` (Python), to change the priority on any of these definitions."
    )
    assert evaluate(files, bare=True).value("y") == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "x: !definition {file: 3, value: 1}\n",
            "a.yaml:1: `!definition' needs a string `file', not 3.",
        ),
        (
            "x: !definition {value: 1}\n",
            "a.yaml:1: `!definition' takes a mapping with exactly the keys file, value, "
            "e.g. `!definition {file: ..., value: ...}'.",
        ),
    ],
)
def test_yaml_definition_errors(modules: Any, eval_error: Any, text: str, message: str) -> None:
    assert eval_error(modules(a__yaml=text), "x").startswith(message)


def test_python_file_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="mk_definition: `file' must be a string, not 3"):
        mk_definition(file=3, value=1)  # type: ignore[arg-type]


def test_map_definition_value_keeps_every_property() -> None:
    mapped = LIB.map_definition_value(
        lambda v: v * 10,
        mk_merge([mk_if(True, 1), mk_override(50, mk_order(200, 2)), mk_definition("f.nix", 3), 4]),
    )
    assert [type(x).__name__ for x in mapped.contents] == ["If", "Override", "DefinitionAt", "int"]
    assert mapped.contents[0].content == 10 and mapped.contents[3] == 40
    assert (mapped.contents[1].priority, mapped.contents[1].content.priority) == (50, 200)
    assert mapped.contents[1].content.content == 20
    assert (mapped.contents[2].file, mapped.contents[2].value) == ("f.nix", 30)
