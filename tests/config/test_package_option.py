"""mk_package_option (NixOS mkPackageOption) from Python and YAML (`package: NAME`), and
`options.X` read as NixOS's option attribute set."""

from __future__ import annotations

from typing import Any

import pytest

from declos.config import EvaluationError, evaluate, mk_package_option, types
from declos.config.values import AttrDict

HELLO = AttrDict(pname="hello", out_path="/declos/store/" + "h" * 32 + "-hello")
PKGS = AttrDict(hello=HELLO, gnu=AttrDict(hello=AttrDict(HELLO, pname="gnu-hello")))


def test_python_declaration_and_its_options_view(modules: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import mk_package_option
        # None: the evaluation's own pkgs (options exist before it does)
        options = {
            "p": mk_package_option(None, "hello", example=["gnu", "hello"]),
            "q": mk_package_option(None, ["gnu", "hello"], nullable=True,
                                   extra_description="Or none."),
        }
        """
    )
    ev = evaluate(files, bare=True, special_args={"pkgs": PKGS})
    assert ev.value("p.pname") == "hello"
    assert ev.value("q.pname") == "gnu-hello"
    p, q = ev.options.p, ev.options.q
    assert (p["_type"], p.loc, p.declarations) == ("option", ["p"], ["a.py:4"])
    assert p.description == "The hello package to use."
    assert p.defaultText == {"_type": "literalExpression", "text": "pkgs.hello"}
    assert p.example == {"_type": "literalExpression", "text": "pkgs.gnu.hello"}
    assert p.type is types.package and p.default is HELLO and p.value is HELLO
    assert q.description == "The hello package to use. Or none."
    assert q.type.description == "null or package"
    assert q.defaultText.text == "pkgs.gnu.hello"
    assert sorted(p) == sorted(
        [
            "_type",
            "loc",
            "type",
            "declarations",
            "declarationPositions",
            "files",
            "readOnly",
            "internal",
            "visible",
            "value",
            "valueMeta",
        ]
        + ["description", "default", "defaultText", "example"]
    )


def test_defaults_none_and_nullable() -> None:
    undefined = mk_package_option(PKGS, "hello", default=None)
    assert not undefined.has_default and undefined.default_text is None
    nullable = mk_package_option(PKGS, "hello", nullable=True, default=None)
    assert nullable.default is None
    assert nullable.type.description == "null or package"


def test_attribute_paths_are_shown_as_nix_writes_them() -> None:
    option = mk_package_option(PKGS, ["123", 'with"quote', "in", "$x", "hello"], pkgs_text="my")
    assert option.default_text == 'my."123"."with\\"quote"."in"."\\$x".hello'


def test_a_missing_package_fails_only_when_read(modules: Any, eval_error: Any) -> None:
    files = modules(
        a__py="""
        from declos.config import mk_package_option
        options = {"p": mk_package_option(None, ["gnu", "nothere"]), "ok": mk_package_option(None, "hello")}
        """
    )
    ev = evaluate(files, bare=True, special_args={"pkgs": PKGS})
    assert ev.value("ok.pname") == "hello"
    with pytest.raises(EvaluationError) as info:
        ev.value("p")
    assert str(info.value) == (
        "pkgs.gnu.nothere cannot be found in pkgs.\n"
        "Hint: give the option a `default' that names a package of pkgs."
    )


def test_yaml_package_declarations(modules: Any) -> None:
    files = modules(
        a__yaml="""
        options:
          p: {package: hello}
          q: {package: [gnu, hello], nullable: true, extra_description: Or none., example: [hello]}
          r: {package: hello, nullable: true, default: null}
          group:
            package: {type: str, default: not a package option}
        config:
          r: {{ pkgs.gnu.hello }}
        """.replace("{{ pkgs.gnu.hello }}", "'{{ pkgs.gnu.hello }}'")
    )
    ev = evaluate(files, bare=True, special_args={"pkgs": PKGS})
    assert ev.value("p.pname") == "hello"
    assert ev.value("q.pname") == "gnu-hello"
    assert ev.value("r.pname") == "gnu-hello"
    assert ev.value("group.package") == "not a package option"
    assert ev.options.q.description == "The hello package to use. Or none."
    assert ev.options.q.example.text == "pkgs.hello"
    assert ev.options.r.default is None
    assert (ev.options.r.files, ev.options.p.files) == (["a.yaml"], [])
    assert ev.options.p.declarations == ["a.yaml:2"]


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        (
            "{package: hello, type: str}",
            "a.yaml:2: a package option (`package:') takes no type: its type, description and "
            "default text follow from the package name (NixOS mkPackageOption).",
        ),
        (
            "{package: [], nullable: true}",
            "a.yaml:2: `package' of a package option must be a package name or a list of names "
            "(an attribute path in pkgs), not [].",
        ),
        (
            "{package: hello, default: 3}",
            "a.yaml:2: `default' of a package option must be a package name or a list of names "
            "(an attribute path in pkgs), or null, not 3.",
        ),
        (
            "{type: package, nullable: true}",
            "a.yaml:2: nullable only go with `package: NAME' (a package option) in the "
            "declaration of `p'.",
        ),
    ],
)
def test_yaml_package_declaration_errors(
    modules: Any, eval_error: Any, declaration: str, message: str
) -> None:
    files = modules(a__yaml=f"options:\n  p: {declaration}\n")
    assert eval_error(files, "p") == message


def test_a_missing_yaml_package_names_the_declaration(modules: Any, eval_error: Any) -> None:
    files = modules(a__yaml="options:\n  p: {package: nothere}\n")
    ev = evaluate(files, bare=True, special_args={"pkgs": PKGS})
    with pytest.raises(EvaluationError) as info:
        ev.value("p")
    assert str(info.value).startswith("pkgs.nothere cannot be found in pkgs.")


def test_reading_an_undeclared_attribute_of_an_option(modules: Any) -> None:
    files = modules(a__yaml="options:\n  p: {type: int}\n")
    with pytest.raises(EvaluationError) as info:
        _ = evaluate(files, bare=True).options.p.default
    assert str(info.value) == (
        "attribute `default' missing in option `p' (have: _type, loc, type, declarations, "
        "declarationPositions, files, readOnly, internal, visible, value, valueMeta)"
    )
