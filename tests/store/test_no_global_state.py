"""Derivation inputs are explicit: no process-wide registry decides them (issue 9 §3)."""

from __future__ import annotations

from declos.pkgs import Pkgs
from declos.store import Derivation, Store
from declos.store.derivation import StringContext


def _drv(context: StringContext | None = None) -> Derivation:
    return Derivation(
        "user",
        "/bin/sh",
        ["-c", "cat /declos/store/0c2kkfsqdmc3z3sjfl1zqxc0ln5d6xsk-conf > $out"],
        context=context,
    )


def test_add_text_does_not_change_later_derivations(store: Store) -> None:
    before = _drv()
    # The mentioned path becomes valid in a store: with a process-wide registry this
    # turned it into an input source of every later derivation mentioning it.
    conf = store.add_text("conf", "x")
    assert conf.endswith("-conf")
    text = f"cat {conf} > $out"
    first = Derivation("user2", "/bin/sh", ["-c", text])
    after = _drv()
    again = Derivation("user2", "/bin/sh", ["-c", text])
    assert (after.drv_path, after.out_path) == (before.drv_path, before.out_path)
    assert after.input_srcs == set()
    assert (first.drv_path, first.input_srcs) == (again.drv_path, set())
    explicit = Derivation("user2", "/bin/sh", ["-c", text], input_srcs=[conf])
    assert explicit.input_srcs == {conf} and explicit.drv_path != first.drv_path


def test_one_package_sets_context_does_not_leak_into_another() -> None:
    a, b = Pkgs(store_dir="/declos/store"), Pkgs(store_dir="/declos/store")
    tool = a.write_text("tool", "t")
    in_a = a.write_text("uses", f"{tool}")
    in_b = b.write_text("uses", f"{tool}")
    assert set(in_a.input_drvs) == {tool}
    assert in_b.input_drvs == {}  # b never made `tool`: the string is just text there
    assert in_a.drv_path != in_b.drv_path
    # The same evaluation in a fresh set gives the same paths, whatever ran before.
    c = Pkgs(store_dir="/declos/store")
    assert c.write_text("uses", f"{c.write_text('tool', 't')}").drv_path == in_a.drv_path


def test_objects_given_directly_are_inputs_without_a_context() -> None:
    dep = Derivation("dep", "/bin/sh", ["-c", "echo > $out"])
    user = Derivation("user", "/bin/sh", ["-c", "cat $dep > $out"], {"dep": dep})
    assert set(user.input_drvs) == {dep} and user.env["dep"] == dep.out_path
