"""The event-based YAML builder gives the same values as PyYAML's safe loader."""

from __future__ import annotations

import yaml

from declos.config.templates import Template
from declos.config.yamlbuild import Builder

TEXT = """
scalars: [yes, No, on, OFF, ~, null, "", 1, -2, 0x1f, 012, +5, 1.5, .inf, -.Inf, 1e3, 6.8523015e+5, 1_000,
          2001-12-14, y, n, "yes", '1', str, -, ., "a: b", 'x''y']
nested: {a: [1, {b: c}], "d.e": f}
base: &base {x: 1, y: 2}
merged: {<<: *base, y: 3}
alias: *base
block: |
  two
  lines
folded: >-
  one
  line
"""


def build(text: str) -> object:
    loader = yaml.CSafeLoader(text)
    builder = Builder(loader, "t.yaml")
    builder.get()
    builder.get()
    return builder.value()


def test_same_values_as_pyyaml() -> None:
    assert build(TEXT) == yaml.safe_load(TEXT)


def test_templates_become_lazy_values_with_lines() -> None:
    value = build('a: plain\nb: "{{ config.x }}"\nc: "x {% if y %}z{% endif %}"\n')
    assert value["a"] == "plain"
    assert isinstance(value["b"], Template) and (value["b"].source, value["b"].line) == (
        "{{ config.x }}",
        2,
    )
    assert isinstance(value["c"], Template) and value["c"].line == 3


def test_path_tag_resolves_relative_to_the_module_file(tmp_path) -> None:
    from declos.config import evaluate

    sub = tmp_path / "sub"
    sub.mkdir()
    (tmp_path / "top.yaml").write_text("imports: [sub/m.yaml]\n")
    (sub / "m.yaml").write_text(
        "environment.etc.motd.source: !path ./motd\n"
        "environment.etc.up.source: !path ../shared/up\n"
        "environment.etc.abs.source: !path /srv/abs\n"
    )
    etc = evaluate([tmp_path / "top.yaml"]).to_json("environment.etc")
    assert etc["motd"]["source"] == str(sub / "motd")
    assert etc["up"]["source"] == str(tmp_path / "shared" / "up")
    assert etc["abs"]["source"] == "/srv/abs"


def test_path_tag_rejects_an_empty_value_with_file_and_line(tmp_path) -> None:
    import pytest

    from declos.config import EvaluationError, evaluate

    (tmp_path / "m.yaml").write_text("a: 1\nenvironment.etc.motd.source: !path\n")
    with pytest.raises(EvaluationError) as err:
        evaluate([tmp_path / "m.yaml"])
    assert "m.yaml:2: `!path ' must be a relative path like `./file'" in str(err.value)
