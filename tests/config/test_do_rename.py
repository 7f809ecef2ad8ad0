"""do_rename (NixOS doRename): condition, use, warn, and its refusals."""

from __future__ import annotations

from typing import Any

import pytest

from declos.config import do_rename, evaluate

DECLARE = """
from declos.config import Option, do_rename, lazy, types
options = {"enabled": Option(types.bool, default=False), "new": Option(types.attrs_of(types.int), default={})}
imports = [do_rename(["old"], ["new", ""], warn=WARN, use=lambda v: v * 10,
                     condition=lazy(lambda config: config.enabled))]
"""


def test_condition_gates_the_definitions(modules: Any) -> None:
    files = modules(a__py=DECLARE.replace("WARN", "False"), b__yaml="old: 4\n")
    assert evaluate(files, bare=True).value("new") == {}
    on = modules(a__py=DECLARE.replace("WARN", "False"), b__yaml="old: 4\nenabled: true\n")
    ev = evaluate(on, bare=True)
    assert ev.value("new") == {"": 4}
    assert ev.value("old") == 40  # `use' applies when the old path is read
    assert ev.config.old == 40
    assert ev.options.old.isDefined is True
    assert ev.warnings == []


def test_warn_makes_it_a_rename(modules: Any) -> None:
    files = modules(a__py=DECLARE.replace("WARN", "True"), b__yaml="old: 4\nenabled: true\n")
    assert evaluate(files, bare=True).warnings == [
        "The option `old' defined in `b.yaml' has been renamed to `new.\"\"'."
    ]


def test_without_priorities_is_refused() -> None:
    with pytest.raises(ValueError, match="with_priority=False is not supported"):
        do_rename(["a"], ["b"], with_priority=False)
