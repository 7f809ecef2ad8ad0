"""The fixed point: demand-driven reads, cycles, lazy values, Jinja, pkgs, the read views."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from declos.config import EvaluationError, evaluate

DECL = """
from declos.config import Option, types

options = {"a": Option(types.int, 1), "b": Option(types.int, 2), "c": Option(types.int, 3)}
"""


def test_module_body_reads_options_it_does_not_define(modules: Any) -> None:
    files = modules(
        decl__py=DECL,
        m1__py="""
        def config(config):
            if config.b > 1:
                return {"a": config.c * 10}
            return {}
        """,
        m2__py="""
        def config(config):
            return {"c": config.b + 5} if config.b == 2 else {}
        """,
    )
    assert evaluate(files, bare=True).value() == {
        "assertions": [],
        "warnings": [],
        "a": 70,
        "b": 2,
        "c": 7,
    }


def test_two_modules_reading_the_same_option_is_not_a_cycle(modules: Any) -> None:
    files = modules(
        decl__py=DECL,
        m1__py="def config(config):\n    return {'a': 5} if config.b == 2 else {}\n",
        m2__py="def config(config):\n    return {'c': 6} if config.b == 2 else {}\n",
    )
    assert evaluate(files, bare=True).value() == {
        "assertions": [],
        "warnings": [],
        "a": 5,
        "b": 2,
        "c": 6,
    }


def test_module_reading_what_it_defines_is_a_cycle_with_lines(
    modules: Any, eval_error: Any
) -> None:
    files = modules(
        decl__py=DECL,
        loop__py="""
        def config(config):
            if config.a == 1:
                return {"a": 2}
            return {}
        """,
    )
    message = eval_error(files)
    assert message.startswith(
        "infinite recursion: module `loop.py:1' defines `a', but `a' was read while that module was still running:"
    )
    assert "- module `loop.py:1' reads `a' (at loop.py:2)" in message
    assert "- `a' is defined by module `loop.py:1' (at loop.py:3)" in message
    assert "lazy(" in message


def test_cycle_through_two_modules_names_both(modules: Any, eval_error: Any) -> None:
    files = modules(
        decl__py=DECL,
        one__py="def config(config):\n    return {'a': config.b}\n",
        two__py="def config(config):\n    return {'b': config.a}\n",
    )
    message = eval_error(files)
    assert "module `one.py:1' reads `b' (at one.py:2)" in message
    assert "to compute `b', module `two.py:1' runs" in message
    assert "module `two.py:1' reads `a' (at two.py:2)" in message
    assert "`a' is defined by module `one.py:1'" in message


def test_lazy_breaks_the_loop(modules: Any) -> None:
    files = modules(
        decl__py=DECL,
        one__py="from declos.config import lazy\n\ndef config(config):\n    return {'a': lazy(lambda: config.b + 1)}\n",
        two__py="def config(config):\n    return {'b': 40}\n",
    )
    assert evaluate(files, bare=True).value("a") == 41


def test_value_cycle_through_templates_names_each_option_and_file(
    modules: Any, eval_error: Any
) -> None:
    files = modules(
        t__yaml="""
        options:
          p: {type: int}
          q: {type: int}
        config:
          p: "{{ config.q }}"
          q: "{{ config.p + 1 }}"
        """
    )
    message = eval_error(files, "p")
    assert "infinite recursion: the value of `p' depends on itself:" in message
    assert "- the value of `p' (defined in `t.yaml:5') reads `q'" in message
    assert "- the value of `q' (defined in `t.yaml:6') reads `p'" in message


def test_jinja_strings_are_lazy_and_typed(modules: Any) -> None:
    files = modules(
        d__yaml="""
        options:
          host: {type: str, default: web}
          fqdn: {type: str}
          port: {type: port, default: 80}
          twice: {type: int}
          l: {type: list_of(str), default: []}
        config:
          fqdn: "{{ config.host }}.example.org"
          twice: "{{ config.port * 2 }}"
          l: !if {condition: "{{ config.port == 80 }}", value: [http]}
        """,
        e__yaml="host: db\n",
    )
    ev = evaluate(files, bare=True)
    assert ev.value("fqdn") == "db.example.org"
    assert ev.value("twice") == 160
    assert ev.value("l") == ["http"]


def test_jinja_error_has_file_line(modules: Any, eval_error: Any) -> None:
    files = modules(d__yaml='options:\n  x: {type: str}\nconfig:\n  x: "{{ config.nope }}"\n')
    message = eval_error(files, "x")
    assert "The option `nope' does not exist" in message
    assert "(while evaluating the template '{{ config.nope }}' at d.yaml:4)" in message


def test_if_condition_must_be_bool(modules: Any, eval_error: Any) -> None:
    files = modules(
        d__yaml='options:\n  x: {type: int, default: 1}\nconfig:\n  x: !if {condition: "{{ 3 }}", value: 2}\n'
    )
    assert (
        "mk_if called with a non-Boolean condition (3) for option `x' in `d.yaml:4'"
        in eval_error(files, "x")
    )


class Drv:
    def __init__(self, name: str) -> None:
        self.out_path = f"/declos/store/{'b' * 32}-{name}"

    def __str__(self) -> str:
        return self.out_path


def test_pkgs_in_templates_and_python_modules(modules: Any) -> None:
    files = modules(
        d__yaml="""
        options:
          cmd: {type: str}
          pkg: {type: package}
          pkgs2: {type: list_of(package), default: []}
        config:
          cmd: "{{ pkgs.hello }}/bin/hello"
          pkg: "{{ pkgs.hello }}"
        """,
        p__py="def config(config, pkgs, lib, options):\n    return {'pkgs2': [pkgs.hello]}\n",
    )
    pkgs = type("Pkgs", (), {"hello": Drv("hello")})()
    ev = evaluate(files, bare=True, special_args={"pkgs": pkgs})
    assert ev.value("cmd") == pkgs.hello.out_path + "/bin/hello"
    assert ev.value("pkg") is pkgs.hello
    assert ev.to_json("pkgs2") == [pkgs.hello.out_path]


def test_evaluation_never_opens_the_store(tmp_path: Path) -> None:
    # The module library's system.path (the sw profile) is a package, so a whole-config
    # read loads the package set (it used to guard that `declos.pkgs` stays unloaded);
    # what must hold is that evaluation computes paths without touching a store.
    code = (
        "from declos.config import evaluate\n"
        "ev = evaluate(['machines/webserver.yaml'])\nprint(ev.value('system.path'))\n"
    )
    env = dict(
        os.environ,
        DECLOS_STATE_DIR=str(tmp_path / "state"),
        DECLOS_STORE_DIR=str(tmp_path / "store"),
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.startswith(str(tmp_path / "store") + "/") and out.strip().endswith("-system-path")
    assert list(tmp_path.iterdir()) == []


def test_templates_are_not_compiled_without_jinja_strings(modules: Any) -> None:
    files = modules(d__yaml="options:\n  x: {type: str, default: plain}\n")
    code = f"import sys\nfrom declos.config import evaluate\nevaluate({files!r}, bare=True).value()\nprint('jinja2' in sys.modules)\n"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )


def test_pkgs_unavailable_gives_clear_error(
    modules: Any, monkeypatch: pytest.MonkeyPatch, eval_error: Any
) -> None:
    monkeypatch.setitem(sys.modules, "declos.pkgs", None)
    files = modules(d__yaml='options:\n  x: {type: str}\nconfig:\n  x: "{{ pkgs.hello }}"\n')
    message = eval_error(files, "x")
    assert "`pkgs' was used, but the package set is not available" in message
    assert "d.yaml:4" in message


def test_config_view_api(modules: Any) -> None:
    files = modules(
        d__yaml="""
        options:
          networking.hostName: {type: str, default: h}
          users: {type: attrs_of(submodule), default: {}, options: {home: {type: str, default: /x}}}
        config:
          users.alice: {}
        """
    )
    ev = evaluate(files, bare=True)
    cfg = ev.config
    assert cfg.networking.hostName == "h"
    assert cfg["networking"]["hostName"] == "h"
    assert "networking" in cfg and "nope" not in cfg
    assert sorted(cfg.networking) == ["hostName"]
    assert cfg.get("nope", 5) == 5
    assert cfg.users.alice.home == "/x"
    assert not hasattr(cfg, "nope")
    with pytest.raises(EvaluationError, match=r"The option `nope' does not exist"):
        cfg.nope  # noqa: B018


def test_value_and_to_json_paths(modules: Any) -> None:
    files = modules(
        d__yaml="options:\n  a.b: {type: attrs_of(list_of(int)), default: {x: [1, 2]}}\n"
    )
    ev = evaluate(files, bare=True)
    assert ev.value("a.b.x") == [1, 2]
    assert ev.value(["a", "b"]) == {"x": [1, 2]}
    assert ev.to_json("a") == {"b": {"x": [1, 2]}}
    assert type(ev.value("a")) is dict
    with pytest.raises(EvaluationError, match=r"attribute `y' in selection path `a.b.y' not found"):
        ev.value("a.b.y")


def test_warnings_once_and_assertions(modules: Any, eval_error: Any) -> None:
    files = modules(w__yaml="warnings: [careful, careful]\n", v__yaml="warnings: [other]\n")
    assert evaluate(files, bare=True).warnings == ["careful", "other"]
    files = modules(
        a__yaml="assertions:\n  - {assertion: false, message: first}\n  - {assertion: false, message: second}\n"
    )
    assert eval_error(files) == "Failed assertions:\n- first\n- second"


def test_python_exception_reported_at_its_line(modules: Any, eval_error: Any) -> None:
    files = modules(
        decl__py=DECL, bad__py="def config(config):\n    x = {}\n    return {'a': x['missing']}\n"
    )
    message = eval_error(files)
    assert message.startswith("bad.py:3: KeyError: 'missing'")
    assert "while running the config function of `bad.py:1'" in message


def test_python_definition_lines_come_from_the_source(modules: Any, eval_error: Any) -> None:
    files = modules(
        decl__py=DECL,
        one__py="config = {\n    'a': 5,\n    'b': 'x',\n}\n",
    )
    assert '- In `one.py:3\': "x"' in eval_error(files, "b")


def test_nested_and_dotted_keys_merge(modules: Any) -> None:
    files = modules(
        d__yaml="options:\n  a.b.c: {type: int}\n  a.b.d: {type: int}\n  a.e: {type: list_of(int)}\n",
        e__yaml="a.b.c: 1\na:\n  b.d: 2\n  e: [1]\na.e: [2]\n",
    )
    assert evaluate(files, bare=True).value("a") == {"b": {"c": 1, "d": 2}, "e": [1, 2]}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: [1, 2\n", "d.yaml:2: invalid YAML"),
        ("a: !frobnicate 1\n", "d.yaml:1: unknown tag `!frobnicate'"),
        (
            "a: !override {value: 1}\n",
            "d.yaml:1: `!override' takes a mapping with exactly the keys priority, value",
        ),
        ('options:\n  a: {type: "list_of(strr)"}\n', "d.yaml:2: unknown type `strr'"),
        ("options:\n  a: 5\n", "d.yaml:2: expected an option declaration at option path `a`"),
        (
            "imports: [missing.yaml]\n",
            "d.yaml:1: The module file `missing.yaml' does not exist.",
        ),
        ("config: {}\nfoo: 1\n", "d.yaml:2: Module `d.yaml' has an unsupported attribute `foo'"),
        ("- 1\n", "d.yaml:1: a YAML module must be a mapping"),
    ],
)
def test_loader_errors_have_file_line(
    modules: Any, text: str, fragment: str, eval_error: Any
) -> None:
    files = modules(d__yaml=text)
    assert fragment in eval_error(files)


def test_declaration_errors(modules: Any, eval_error: Any) -> None:
    files = modules(
        a__yaml="options:\n  x: {type: int, default: 1}\n",
        b__yaml="options:\n  x: {type: int, default: 2}\n",
    )
    assert "The option `x' in `a.yaml:2' is already declared in `b.yaml:2'." in eval_error(files)
    files = modules(
        a__yaml="options:\n  x: {type: int, default: 1}\n", b__yaml="options:\n  x: {type: int}\n"
    )
    assert evaluate(files, bare=True).value("x") == 1


def test_apply_and_read_only(modules: Any) -> None:
    files = modules(
        d__py="from declos.config import Option, types\noptions = {'x': Option(types.int, 4, apply=lambda v: v * 10)}\n"
    )
    assert evaluate(files, bare=True).value("x") == 40


def test_options_docs_records(modules: Any) -> None:
    from declos.config.docs import option_records

    files = modules(
        d__yaml="""
        options:
          svc:
            type: attrs_of(submodule)
            default: {}
            description: Services.
            options:
              port: {type: port, default: 80, description: The port., example: 8080}
          hidden: {type: int, default: 1, internal: true}
        """
    )
    records = {r["name"]: r for r in option_records(evaluate(files, bare=True))}
    assert set(records) == {"svc", "svc.<name>.port"}
    port = records["svc.<name>.port"]
    assert port["declarations"] == ["d.yaml:7"]
    assert port["default"] == {"_type": "literalExpression", "text": "80"}
    assert port["example"]["text"] == "8080"
    assert port["type"] == "16 bit unsigned integer; between 0 and 65535 (both inclusive)"


def test_templates_see_their_own_scope(modules: Any) -> None:
    files = modules(
        d__yaml="""
        options:
          domain: {type: str, default: example.org}
          hosts:
            type: attrs_of(submodule)
            default: {}
            options:
              fqdn: {type: str, default: "{{ name }}.{{ config.suffix }}"}
              suffix: {type: str, default: lan}
              alias: {type: str, default: ""}
        config:
          hosts.web.alias: "www.{{ config.domain }}"
          hosts.db.suffix: internal
        """
    )
    assert evaluate(files, bare=True).value("hosts") == {
        "web": {"fqdn": "web.lan", "suffix": "lan", "alias": "www.example.org"},
        "db": {"fqdn": "db.internal", "suffix": "internal", "alias": ""},
    }


def test_visibility_in_docs(modules: Any) -> None:
    from declos.config.docs import option_records

    files = modules(
        d__py="""
        from declos.config import Option, types

        sub = types.submodule({"inner": Option(types.int, 1, "Inner.")})
        options = {
            "shallow": Option(sub, {}, "Shallow.", visible="shallow"),
            "transparent": Option(sub, {}, "Transparent.", visible="transparent"),
            "hidden": Option(sub, {}, "Hidden.", visible=False),
        }
        """
    )
    names = [r["name"] for r in option_records(evaluate(files, bare=True))]
    assert names == ["shallow", "transparent.inner"]


def test_reading_an_undeclared_option_names_the_reading_line(modules: Any, eval_error: Any) -> None:
    files = modules(
        decl__py=DECL, bad__py="def config(config):\n    x = 1\n    return {'a': config.bb}\n"
    )
    message = eval_error(files)
    assert "The option `bb' does not exist (it was read, but no module declares it)." in message
    assert "Did you mean `b', `a' or `c'?" in message  # nearest first, as NixOS
    assert message.endswith("(read at bad.py:3)")


def test_module_returning_a_non_dict(modules: Any, eval_error: Any) -> None:
    files = modules(bad__py="def config():\n    return [1]\n")
    assert (
        "module `bad.py:1' does not look like a module: its config function returned a list, "
        "not a dict of definitions" in eval_error(files)
    )


def test_python_module_config_may_be_a_property(modules: Any) -> None:
    files = modules(
        decl__py=DECL,
        m__py="from declos.config import mk_if, mk_merge\n\nconfig = mk_merge([{'a': 10}, mk_if(False, {'b': 20}), {'c': 30}])\n",
    )
    assert evaluate(files, bare=True).value() == {
        "assertions": [],
        "warnings": [],
        "a": 10,
        "b": 2,
        "c": 30,
    }


def test_freeform_value_may_read_declared_options(modules: Any) -> None:
    """modules.sh T20: NixOS needs lazyAttrsOf for this; declos computes it directly."""
    files = modules(
        f__py="""
        from declos.config import Option, lazy, mk_if, types

        freeform_type = types.attrs_of(types.str)
        options = {"value": Option(types.null_or(types.str), None)}
        config = {"foo": mk_if(lazy(lambda config: config.value is not None), lazy(lambda config: config.value))}
        """,
        v__yaml='value: "24"\n',
    )
    assert evaluate(files, bare=True).value("foo") == "24"
    with pytest.raises(EvaluationError, match="attribute `foo' in selection path `foo' not found"):
        evaluate(files[:1], bare=True).value("foo")
