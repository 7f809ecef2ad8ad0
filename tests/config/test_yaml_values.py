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
    assert isinstance(value["b"], Template) and (value["b"].source, value["b"].line) == ("{{ config.x }}", 2)
    assert isinstance(value["c"], Template) and value["c"].line == 3
