"""`pkgs.overlays` (NixOS's nixpkgs.overlays) and `pkgs.hermetic`, evaluated with the
module system over the corpus lock; the propagation case is built for real (jq's farm
links the overridden libonig5)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from declos.config import EvaluationError
from declos.pkgs import Pkgs
from declos.pkgs.debian.lockfile import Lock
from declos.store import Store

OVERLAY_MODULE = """
def add_hello(final, prev):
    return {"hello": prev.write_shell_script_bin("hello", "echo hi " + final.greeting)}

def greeting(final, prev):
    return {"greeting": "from the second overlay"}

def onig(final, prev):
    return {"libonig5": prev.libonig5.override_attrs(lambda f, p: {"ignore_missing": ["x*"]})}

config = {"pkgs": {"overlays": [add_hello, greeting, onig]}}
"""


# the `eval_files` fixture (conftest.py): write {name: text} and evaluate those modules
EvalFiles = Callable[[dict[str, str]], tuple[object, Pkgs]]


def _packages(ev: object) -> list[object]:
    return ev.value("environment.systemPackages")  # type: ignore[attr-defined, no-any-return]


def test_overlays_add_packages_and_dependents_see_overrides(
    eval_files: EvalFiles, corpus_lock: Lock, deb_store: Store
) -> None:
    ev, pkgs = eval_files(
        {
            "overlays.py": OVERLAY_MODULE,
            "machine.py": "def config(config, pkgs):\n"
            "    return {'environment.systemPackages': [pkgs.hello, pkgs.jq]}\n",
        },
    )
    hello, jq = _packages(ev)
    plain = Pkgs(deb_store, lock=corpus_lock.path)
    # the earlier overlay's `final.greeting` is the later overlay's value
    assert "echo hi from the second overlay" in hello.env["text"]  # type: ignore[attr-defined]
    onig = pkgs.libonig5
    assert onig.env["ignoreMissing"] == "x*" and plain.libonig5.env["ignoreMissing"] == ""
    # jq depends on libonig5: built from the final set, so against the overridden one
    assert onig.out_path in jq.env["deps"].split()  # type: ignore[attr-defined]
    assert plain.libonig5.out_path not in jq.env["deps"].split()  # type: ignore[attr-defined]
    assert jq.out_path != plain.jq.out_path  # type: ignore[attr-defined]
    assert pkgs.deb.jq.out_path == pkgs["jq"].out_path == jq.out_path  # type: ignore[attr-defined]
    assert "hello" in pkgs.deb and "libonig5" in pkgs.deb and "no-such" not in pkgs.deb
    deb_store.realise([jq])  # type: ignore[list-item]
    farm = deb_store.real_path(f"{jq}/declos-support/lib/libonig.so.5")
    assert os.readlink(farm).startswith(onig.out_path + "/")


def test_without_overlays_paths_are_unchanged(
    eval_files: EvalFiles, corpus_lock: Lock, deb_store: Store
) -> None:
    ev, _ = eval_files(
        {
            "machine.py": "def config(config, pkgs):\n    return {'environment.systemPackages': [pkgs.jq]}\n"
        },
    )
    assert _packages(ev)[0].out_path == Pkgs(deb_store, lock=corpus_lock.path).jq.out_path  # type: ignore[attr-defined]


def test_pkgs_hermetic_builds_every_debian_package_hermetic(
    eval_files: EvalFiles, corpus_lock: Lock, deb_store: Store
) -> None:
    ev, _ = eval_files(
        {
            "hermetic.py": "config = {'pkgs': {'hermetic': True}}\n",
            "machine.py": "def config(config, pkgs):\n"
            "    return {'environment.systemPackages': [pkgs.jq]}\n",
        },
    )
    jq = _packages(ev)[0]
    plain = Pkgs(deb_store, lock=corpus_lock.path)
    assert jq.env["hermetic"] == "1"  # type: ignore[attr-defined]
    assert jq.out_path == plain.jq.override(hermetic=True).out_path  # type: ignore[attr-defined]


def test_an_overlay_seen_too_late_is_an_error_not_a_wrong_package(eval_files: EvalFiles) -> None:
    # a.py uses pkgs first; looking for pkgs.overlays runs b.py, which uses pkgs.jq
    # eagerly while the overlays are not known yet; c.py's overlay changes jq.
    with pytest.raises(EvaluationError) as err:
        eval_files(
            {
                "a.py": "def config(config, pkgs):\n"
                "    return {'environment.systemPackages': [pkgs.curl]}\n",
                "b.py": "def config(config, pkgs):\n"
                "    return {'environment.systemPackages': [pkgs.jq]}\n",
                "c.py": "config = {'pkgs': {'overlays': "
                "[lambda final, prev: {'jq': prev.jq.override(hermetic=True)}]}}\n",
            },
        )
    text = str(err.value)
    assert "a.py:2" in text
    assert "pkgs.jq was used by a module that ran while the evaluator was looking for" in text
    assert "lazy(lambda config: [pkgs.NAME])" in text


def test_bad_overlays_are_reported(eval_files: EvalFiles) -> None:
    machine = "def config(config, pkgs):\n    return {'environment.systemPackages': [pkgs.jq]}\n"
    with pytest.raises(EvaluationError) as err:
        eval_files(
            {"o.py": "config = {'pkgs': {'overlays': ['jq']}}\n", "machine.py": machine},
        )
    assert "pkgs.overlays" in str(err.value) and "o.py" in str(err.value)
    with pytest.raises(EvaluationError) as err:
        eval_files(
            {
                "o.py": "config = {'pkgs': {'overlays': [lambda final, prev: [prev.jq]]}}\n",
                "machine.py": machine,
            },
        )
    assert "pkgs.overlays[0] (<lambda>) returned a list; an overlay returns a dict" in str(
        err.value
    )
    assert "machine.py:2" in str(err.value)
