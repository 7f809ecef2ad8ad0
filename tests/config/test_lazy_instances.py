"""NixOS computes only what is read: an option of a submodule instance, and the merge of
an option's declarations (a conflict is an error when that option is read)."""

from __future__ import annotations

from typing import Any

import pytest

from declos.config import EvaluationError, evaluate
from declos.config.view import InstanceValue


def test_reading_one_option_of_an_instance_leaves_a_broken_sibling_alone(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, types
        sub = types.submodule({"ok": Option(types.int), "broken": Option(types.int)})
        options = {"s": Option(sub), "copy": Option(types.int)}
        config = {"s": {"ok": 1, "broken": "no"}}
        """,
        b__py="""
        def config(config):
            return {"copy": config.s.ok + 1}
        """,
    )
    ev = evaluate(files, bare=True)
    assert ev.value("copy") == 2
    assert ev.value("s.ok") == 1
    with pytest.raises(EvaluationError) as info:
        ev.value("s")
    assert "A definition for option `s.broken' is not of type `signed integer'" in str(info.value)


def test_an_option_without_value_fails_only_when_read(modules: Any) -> None:
    files = modules(
        a__yaml="""
        options:
          s:
            type: submodule
            options:
              a: {type: int}
              b: {type: int}
        config:
          s.a: 3
        """
    )
    ev = evaluate(files, bare=True)
    assert ev.value("s.a") == 3
    with pytest.raises(EvaluationError) as info:
        ev.value("s.b")
    assert "The option `s.b' was accessed but has no value defined" in str(info.value)


def test_instance_keys_attributes_groups_and_freeform_overlay(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, types
        sub = types.submodule({
            "freeform_type": types.attrs_of(types.anything),
            "options": {"n": Option(types.int, default=1), "g": {"x": Option(types.int, default=2)},
                        "empty": {}},
        })
        options = {"s": Option(sub)}
        config = {"s": {"extra": "e", "g": {"y": 3}}}
        """
    )
    ev = evaluate(files, bare=True)
    value = ev.lookup("s")
    assert isinstance(value, InstanceValue)
    assert list(value) == ["extra", "g", "n"]
    assert value.n == 1
    assert value["g"]["x"] == 2 and value.g.y == 3
    assert "empty" not in value and "_module" not in value
    assert value == {"extra": "e", "g": {"x": 2, "y": 3}, "n": 1}
    with pytest.raises(EvaluationError) as info:
        _ = value.nope
    assert str(info.value) == "attribute `nope' missing (have: extra, g, n)"


def test_an_option_read_twice_is_computed_once(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, lazy, types
        calls = []
        sub = types.submodule({"v": Option(types.int)})
        options = {"s": Option(sub)}
        def count():
            calls.append(1)
            return len(calls)
        config = {"s": {"v": lazy(count)}}
        """
    )
    ev = evaluate(files, bare=True)
    value = ev.lookup("s")
    assert (value.v, value.v, ev.value("s.v")) == (1, 1, 1)


def test_conflicting_declarations_fail_only_the_option_that_is_read(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, types
        options = {"x": Option(types.int), "ok": Option(types.int, default=3)}
        """,
        b__py="""
        from declos.config import Option, types
        options = {"x": Option(types.str)}
        """,
    )
    ev = evaluate(files, bare=True)
    assert ev.value("ok") == 3
    want = "The option `x' in `a.py:2' is already declared in `b.py:2'."
    for read in (lambda: ev.value("x"), lambda: ev.options.x.type, lambda: ev.value("")):
        with pytest.raises(EvaluationError) as info:
            read()
        assert want in str(info.value)


@pytest.mark.parametrize("shorthand", [True, False])
def test_shorthand_only_defines_config_computed_from_config(modules: Any, shorthand: bool) -> None:
    files = modules(
        a__py=f"""
        from declos.config import Option, lazy, types
        sub = types.submodule_with(
            modules=[{{"options": {{"config": Option(types.raw, default=None),
                                    "n": Option(types.int, default=0)}}}}],
            shorthand_only_defines_config=lazy(lambda config: config.flag),
        )
        options = {{"s": Option(sub), "flag": Option(types.bool, default={shorthand})}}
        config = {{"s": {{"config": {{"n": 5}}}}}}
        """
    )
    ev = evaluate(files, bare=True)
    want = ({"n": 5}, 0) if shorthand else (None, 5)
    assert (ev.value("s.config"), ev.value("s.n")) == want


def test_merged_lazy_shorthand_values_must_agree(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, lazy, types
        def sub(value):
            return types.submodule_with(shorthand_only_defines_config=lazy(lambda: value))
        options = {"s": Option(sub(True))}
        imports = [{"options": {"s": Option(sub(False))}}]
        config = {"s": {}}
        """
    )
    with pytest.raises(EvaluationError) as info:
        evaluate(files, bare=True).value("s")
    assert "conflicting shorthandOnlyDefinesConfig values" in str(info.value)


def test_an_instance_in_a_template_tojson(modules: Any) -> None:
    files = modules(
        a__yaml="""
        options:
          s:
            type: submodule
            options:
              n: {type: int, default: 1}
          t: {type: str}
        config:
          s: {}
          t: "{{ config.s | tojson }}"
        """
    )
    assert evaluate(files, bare=True).value("t") == '{"n": 1}'
