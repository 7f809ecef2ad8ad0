"""Hostile module files (issue 8): strict YAML, bounded aliases, binary files, and
Python module code that prints, exits, raises or loops — each an `EvaluationError`
with the file and line, never a traceback or polluted stdout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from declos.config import evaluate

DECL_AB = "from declos.config import Option, types\n\noptions = {{'{0}': Option(types.int)}}\n"


def test_duplicate_keys_name_both_lines(modules: Any, eval_error: Any) -> None:
    files = modules(p__yaml="services.httpd.enable: true\nservices.httpd.enable: false\n")
    message = eval_error(files)
    assert message.startswith(
        "p.yaml:2: duplicate key `services.httpd.enable' (first at p.yaml:1)"
    ), message


def test_duplicate_keys_nested_and_in_options(modules: Any, eval_error: Any) -> None:
    nested = modules(n__yaml="a:\n  b: 1\n  c: 2\n  b: 3\n")
    assert eval_error(nested).startswith("n.yaml:4: duplicate key `b' (first at n.yaml:2)")
    declared = modules(o__yaml="options:\n  x: {type: int}\n  x: {type: str}\n")
    assert eval_error(declared).startswith("o.yaml:3: duplicate key `x' (first at o.yaml:2)")
    top = modules(t__yaml="config: {}\noptions: {}\nconfig: {}\n")
    assert eval_error(top).startswith("t.yaml:3: duplicate key `config' (first at t.yaml:1)")


def test_merge_key_then_explicit_key_is_not_a_duplicate(modules: Any) -> None:
    files = modules(
        m__yaml="""
        options:
          a: {type: anything}
          b: {type: anything}
        config:
          a: &base {x: 1, y: 2}
          b:
            <<: *base
            y: 3
        """
    )
    assert evaluate(files, bare=True).value("b") == {"x": 1, "y": 3}


BOMB = "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)


def test_alias_bomb_is_refused_with_the_line(modules: Any, eval_error: Any) -> None:
    files = modules(
        bomb__yaml='a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + BOMB
    )
    assert len(Path(files[0]).read_bytes()) < 700
    message = eval_error(files)
    assert message.startswith("bomb.yaml:7: too many YAML aliases: `*f' makes 46 aliases"), message
    assert "(limits: 10000 aliases, 1000000 values)" in message


def test_alias_count_is_bounded(modules: Any, eval_error: Any) -> None:
    files = modules(many__yaml="a: &a 1\nb: [" + ", ".join(["*a"] * 10001) + "]\n")
    message = eval_error(files)
    assert message.startswith("many.yaml:2: too many YAML aliases: `*a' makes 10001 aliases")


def test_modest_aliases_still_work(modules: Any) -> None:
    files = modules(
        ok__yaml="""
        options:
          l: {type: anything}
        config:
          l: [&x {a: 1}, *x, *x]
        """
    )
    assert evaluate(files, bare=True).value("l") == [{"a": 1}] * 3


def test_binary_yaml_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: Any, eval_error: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bin.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    message = eval_error(["bin.yaml"])
    assert message.startswith(
        "bin.yaml: not a UTF-8 text file (byte 0x89 at offset 0 is not UTF-8)."
    ), message


def test_nul_bytes_in_utf8_yaml_are_invalid_yaml_with_a_line(
    tmp_path: Path, monkeypatch: Any, eval_error: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("nul.yaml").write_bytes(b"a: 1\nb: \x00\n")
    assert eval_error(["nul.yaml"]).startswith("nul.yaml:2: invalid YAML:")


def test_print_in_a_module_goes_to_stderr(modules: Any, capsys: Any) -> None:
    files = modules(
        p__py="""
        from declos.config import Option, lazy, types

        print("loading")
        options = {"x": Option(types.int)}

        def config(config):
            print("running")
            return {"x": lazy(lambda: print("forcing") or 1)}
        """
    )
    ev = evaluate(files, bare=True)
    assert ev.value("x") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "loading\nrunning\nforcing\n"


def test_sys_exit_while_loading_is_an_error_with_the_line(modules: Any, eval_error: Any) -> None:
    files = modules(ex__py="import sys\n\nsys.exit(3)\n")
    message = eval_error(files)
    assert message.startswith(
        "ex.py:3: SystemExit: the module called sys.exit(3) (while loading module `ex.py')."
    ), message


def test_system_exit_in_the_config_function(modules: Any, eval_error: Any) -> None:
    files = modules(ex__py="def config(config):\n    raise SystemExit(4)\n")
    message = eval_error(files)
    assert message.startswith(
        "ex.py:2: SystemExit: the module called sys.exit(4) (while running the config function of `ex.py:1')."
    ), message


def test_exception_in_a_module_names_file_and_line(modules: Any, eval_error: Any) -> None:
    files = modules(bad__py="def config(config):\n    x = {}\n    return x['missing']\n")
    assert eval_error(files).startswith("bad.py:3: KeyError: 'missing'")


def test_two_python_modules_reading_each_other_is_the_cycle_report(
    modules: Any, eval_error: Any
) -> None:
    files = modules(
        a__py=DECL_AB.format("a") + "\ndef config(config):\n    return {'b': config.a + 1}\n",
        b__py=DECL_AB.format("b") + "\ndef config(config):\n    return {'a': config.b + 1}\n",
    )
    message = eval_error(files)
    assert message.startswith(
        "infinite recursion: module `a.py:5' defines `b', but `b' was read while that module was still running:\n"
        "- module `a.py:5' reads `a' (at a.py:6)\n"
        "- to compute `a', module `b.py:5' runs (it may define it)\n"
        "- module `b.py:5' reads `b' (at b.py:6)\n"
        "- `b' is defined by module `a.py:5' (at a.py:6)\n"
        "Hint: a module may read any option it does not define itself."
    ), message


def test_reading_an_undefined_option_in_a_module_is_still_no_value(
    modules: Any, eval_error: Any
) -> None:
    files = modules(
        a__py=DECL_AB.format("a") + "\ndef config(config):\n    return {} if config.a else {}\n"
    )
    assert "The option `a' was accessed but has no value defined." in eval_error(files)


@pytest.mark.parametrize("fn", ["int", "lambda s: s.upper()"])
def test_failed_coerced_to_conversion_is_a_type_error_with_the_line(
    modules: Any, eval_error: Any, fn: str
) -> None:
    files = modules(
        d__py=f"from declos.config import Option, types\n\noptions = {{'n': Option(types.coerced_to(types.str, {fn}, types.int))}}\n",
        n__yaml='n: "abc"\n',
    )
    message = eval_error(files, "n")
    assert message.startswith(
        "A definition for option `n' is not of type `signed integer or string convertible to it'. "
        'Definition values:\n- In `n.yaml:1\': "abc"'
    ), message


def test_successful_coerced_to_conversion(modules: Any) -> None:
    files = modules(
        d__py="from declos.config import Option, types\n\noptions = {'n': Option(types.coerced_to(types.str, int, types.int))}\n",
        n__yaml='n: "42"\n',
    )
    assert evaluate(files, bare=True).value("n") == 42


def test_apply_that_raises_names_the_declaration(modules: Any, eval_error: Any) -> None:
    files = modules(
        d__py="from declos.config import Option, types\n\noptions = {\n    'x': Option(types.int, 1, apply=lambda v: v // 0),\n}\n"
    )
    message = eval_error(files, "x")
    assert message.startswith("d.py:4: ZeroDivisionError: integer division or modulo by zero\n")
    assert "(while applying the `apply' function of option `x' declared at d.py:4)" in message


def test_binary_python_module_is_a_clear_error(
    tmp_path: Path, monkeypatch: Any, eval_error: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.py").write_bytes(b"\xff\xfe\x00binary\x00\n")
    assert eval_error(["m.py"]).startswith("m.py: not a UTF-8 text file (byte 0xff at offset 0")
    Path("n.py").write_bytes(b"x = 1\ny = '\x00'\n")
    assert eval_error(["n.py"]).startswith("n.py:2: not a text file (it holds a NUL byte).")


def test_keyboard_interrupt_raised_by_a_module_is_an_error(modules: Any, eval_error: Any) -> None:
    files = modules(k__py="raise KeyboardInterrupt\n")
    assert eval_error(files).startswith(
        "k.py:1: KeyboardInterrupt: \n(while loading module `k.py')"
    )


def _nested(depth: int) -> str:
    return (
        "options:\n  v: {type: anything}\nconfig:\n  v: " + "[" * depth + "1" + "]" * depth + "\n"
    )


def test_nesting_is_bounded(modules: Any, eval_error: Any) -> None:
    deep = modules(deep__yaml=_nested(100))
    assert eval_error(deep).startswith("deep.yaml:4: YAML nested more than 100 levels deep.")


def test_nesting_up_to_the_bound_evaluates_and_prints(modules: Any) -> None:
    files = modules(ok__yaml=_nested(98))
    value = evaluate(files, bare=True).to_json("v")
    for _ in range(98):
        value = value[0]
    assert value == 1


def test_a_fifo_module_is_refused_without_reading_it(modules: Any, eval_error: Any) -> None:
    files = modules(main__yaml="imports:\n  - other.yaml\n  - pipe.yaml\n", other__yaml="{}\n")
    os.mkfifo("pipe.yaml")
    assert eval_error(files).startswith(
        "main.yaml:3: `pipe.yaml' is not a regular file (a FIFO); it was not read."
    )


def test_import_errors_name_the_import_entry(modules: Any, eval_error: Any) -> None:
    files = modules(main__py="imports = [\n    'a.yaml',\n    'gone.yaml',\n]\n", a__yaml="{}\n")
    assert eval_error(files).startswith("main.py:3: The module file `gone.yaml' does not exist.")
    os.mkdir("sub")
    files = modules(d__yaml="imports: [a.yaml, sub]\n")
    assert eval_error(files).startswith(
        "d.yaml:1: The module directory `sub' has no default.yaml, default.py or module-list.yaml."
    )


def test_config_function_returning_none_is_an_error(modules: Any, eval_error: Any) -> None:
    files = modules(p__py="# forgot it\n\ndef config(config, **_):\n    x = {'a': 1}\n")
    assert eval_error(files).startswith(
        "p.py:3: the config function of `p.py' returned None; it must return a dict"
    )
