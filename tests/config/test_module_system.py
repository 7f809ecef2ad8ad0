"""NixOS module-system features (issue 14): renames and aliases, disabled modules and
module keys, `_module.args`, special args in imports, `_module.check`, freeform types
declared by several modules, `-A` into freeform values."""

from __future__ import annotations

from typing import Any

from declos.config import evaluate

RENAMES = """
from declos.config import (
    Option, types, mk_alias_option_module, mk_removed_option_module, mk_renamed_option_module,
)

imports = [
    mk_renamed_option_module(["a", "b"], ["c", "d", "e"]),
    mk_alias_option_module("enableAlias", "enable"),
    mk_removed_option_module("gone", "Use new.name instead."),
]
options = {"c.d.e": Option(types.int), "enable": Option(types.null_or(types.bool), None)}
"""


def test_renamed_option_moves_the_definition_and_warns(modules: Any) -> None:
    files = modules(r__py=RENAMES, d__yaml="a.b: 1234\n")
    ev = evaluate(files, bare=True)
    assert ev.value("c.d.e") == 1234
    assert ev.value("a.b") == 1234
    assert ev.warnings == ["The option `a.b' defined in `d.yaml' has been renamed to `c.d.e'."]
    assert "a" not in ev.value()


def test_alias_keeps_the_priority_of_each_definition(modules: Any) -> None:
    weak = modules(r__py=RENAMES, d__yaml="enableAlias: !default false\nenable: true\n")
    ev = evaluate(weak, bare=True)
    assert (ev.value("enable"), ev.value("enableAlias"), ev.warnings) == (True, True, [])
    strong = modules(r__py=RENAMES, d__yaml="enableAlias: !force false\nenable: true\n")
    assert evaluate(strong, bare=True).value("enableAlias") is False


def test_alias_definition_errors_point_at_the_users_line(modules: Any, eval_error: Any) -> None:
    files = modules(r__py=RENAMES, d__yaml="enable: true\nenableAlias: 3\n")
    message = eval_error(files, "enable")
    assert "A definition for option `enable' is not of type `null or boolean'" in message
    assert "- In `d.yaml:2': 3" in message


def test_removed_option_fails_an_assertion_and_cannot_be_read(
    modules: Any, eval_error: Any
) -> None:
    files = modules(r__py=RENAMES, d__yaml="gone: 1\n")
    assert eval_error(files) == (
        "Failed assertions:\n- The option definition `gone' in `d.yaml' no longer has any effect; "
        "please remove it.\nUse new.name instead."
    )
    unused = modules(r__py=RENAMES, e__yaml="{}\n")
    assert eval_error(unused, "gone") == (
        "The option `gone' can no longer be used since it's been removed. Use new.name instead."
    )


CHANGED = """
from declos.config import Option, types, mk_changed_option_module

imports = [mk_changed_option_module("old", "new", lambda config: str(config.old * 2))]
options = {"new": Option(types.str, "unset")}
"""


def test_changed_option_module_computes_the_new_value_and_warns(modules: Any) -> None:
    ev = evaluate(modules(m__py=CHANGED, d__yaml="old: 21\n"), bare=True)
    assert ev.value("new") == "42"
    assert ev.warnings == [
        "The option `old' defined in `d.yaml' has been changed to `new' that has a different "
        "type. Please read `new' documentation and update your configuration accordingly."
    ]
    ev = evaluate(modules(m__py=CHANGED, e__yaml="{}\n"), bare=True)
    assert (ev.value("new"), ev.warnings) == ("unset", [])


def test_yaml_import_entries_and_the_sshd_alias_in_the_library(modules: Any) -> None:
    files = modules(p__yaml="services.sshd.enable: true\nservices.sshd.ports: [2222]\n")
    ev = evaluate(files)
    assert ev.value("services.openssh.enable") is True
    assert ev.value("services.openssh.ports") == [2222]
    assert ev.value("services.sshd.ports") == [2222]
    yaml_rename = modules(
        r__yaml="imports:\n  - {mk_renamed_option_module: [old.x, x]}\noptions:\n  x: {type: int}\n",
        d__yaml="old.x: 5\n",
    )
    ev = evaluate(yaml_rename, bare=True)
    assert ev.value("x") == 5
    assert ev.warnings == ["The option `old.x' defined in `d.yaml' has been renamed to `x'."]


def test_disabled_modules_by_path_and_by_key(modules: Any) -> None:
    files = modules(
        lib_dash_a__yaml="key: module-a\noptions:\n  x: {type: int, default: 1}\n",
        lib_dash_b__yaml="imports: [./lib-c.yaml]\noptions:\n  y: {type: int, default: 2}\n",
        lib_dash_c__yaml="options:\n  z: {type: int, default: 3}\n",
        top__yaml="imports: [./lib-a.yaml, ./lib-b.yaml]\n",
    )
    assert evaluate(files[-1:], bare=True).value() == {
        "assertions": [],
        "warnings": [],
        "x": 1,
        "y": 2,
        "z": 3,
    }
    by_path = modules(off__yaml="disabled_modules: [./lib-b.yaml]\n")
    value = evaluate(["top.yaml", *by_path], bare=True).value()
    assert "y" not in value and "z" not in value and value["x"] == 1
    by_key = modules(off2__yaml="disabled_modules: [{key: module-a}]\n")
    assert "x" not in evaluate(["top.yaml", *by_key], bare=True).value()


def test_disabling_a_library_module_by_library_relative_path(modules: Any) -> None:
    files = modules(
        mine__py="""
        from declos.config import Option, types

        disabled_modules = ["services/httpd.py", "services/httpd_package.py"]
        options = {"services.httpd.mine": Option(types.bool, True)}
        """
    )
    assert evaluate(files).value("services.httpd") == {"mine": True}


def test_module_keys_deduplicate(modules: Any) -> None:
    files = modules(
        decl__yaml="options:\n  l: {type: lines}\n",
        one__yaml="key: pear\nl: pear\n",
        two__yaml="key: pear\nl: pear\n",
        three__yaml="l: pear\n",
    )
    assert evaluate(files[:3], bare=True).value("l") == "pear"
    assert evaluate([files[0], files[1], files[3]], bare=True).value("l") == "pear\npear"


def test_module_args_reach_module_functions(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import Option, types

        options = {"greeting": Option(types.str)}
        config = {"_module.args.who": "world"}
        """,
        b__py="def config(who):\n    return {'greeting': 'hello ' + who}\n",
    )
    ev = evaluate(files, bare=True)
    assert ev.value("greeting") == "hello world"
    assert "_module" not in ev.value()
    assert ev.value("_module.args") == {"who": "world"}


def test_special_args_reach_functions_and_imports(modules: Any) -> None:
    files = modules(
        extra__yaml="options:\n  flavour: {type: str}\n",
        a__py="""
        def imports(flavour_file):
            return [flavour_file]


        def config(flavour):
            return {"flavour": flavour}
        """,
    )
    ev = evaluate(
        files[1:], bare=True, special_args={"flavour": "mint", "flavour_file": "extra.yaml"}
    )
    assert ev.value("flavour") == "mint"


def test_imports_cannot_use_config(modules: Any, eval_error: Any) -> None:
    files = modules(a__py="def imports(config):\n    return []\n")
    assert eval_error(files).startswith(
        "In module `a.py': the imports function asks for `config', but imports are resolved "
        "before the configuration exists"
    )


def test_module_check_false_ignores_undeclared_definitions(modules: Any, eval_error: Any) -> None:
    files = modules(d__yaml="options:\n  a: {type: int}\nconfig:\n  a: 1\n  nope: 2\n")
    assert eval_error(files).startswith("The option `nope' does not exist.")
    off = modules(off__yaml="_module.check: false\n")
    assert evaluate([*files, *off], bare=True).value("a") == 1


def test_freeform_types_from_several_modules_merge(modules: Any, eval_error: Any) -> None:
    files = modules(
        a__yaml="freeform_type: attrs_of(anything)\nx: 1\n",
        b__yaml="freeform_type: attrs_of(anything)\ny: {z: 2}\n",
    )
    value = evaluate(files, bare=True).value()
    assert (value["x"], value["y"]) == (1, {"z": 2})
    clash = modules(
        c__yaml="freeform_type: attrs_of(str)\n", d__yaml="freeform_type: attrs_of(int)\n"
    )
    assert eval_error(clash).startswith(
        "The freeform type of module `d.yaml' (`attribute set of signed integer') cannot be merged"
    )


def test_attr_path_into_freeform_values_below_a_declared_group(modules: Any) -> None:
    files = modules(
        a__yaml="""
        freeform_type: attrs_of(anything)
        options:
          services.foo.enable: {type: bool, default: false}
        config:
          services.bar.port: 80
        """
    )
    ev = evaluate(files, bare=True)
    assert ev.value("services.bar.port") == 80
    assert ev.value("services.bar") == {"port": 80}
    assert ev.config.services.bar["port"] == 80


def test_special_args_from_the_command_line() -> None:
    from declos.config.specialargs import parse_special_args

    assert parse_special_args([["n", "3"], ["l", "[a, b]"]], [["s", "3"]]) == {
        "n": 3,
        "l": ["a", "b"],
        "s": "3",
    }
