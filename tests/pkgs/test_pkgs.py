"""The package set: paths computed without building, string context, builtins, sandboxed builds."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from declos.pkgs import Pkgs, default_pkgs
from declos.store import BuildError, Derivation, Store


@pytest.fixture
def pkgs(tmp_path: Path) -> Pkgs:
    return Pkgs(root=tmp_path / "root")


def test_paths_are_known_before_building_and_the_store_opens_lazily(tmp_path: Path) -> None:
    p = Pkgs(root=tmp_path / "root")
    d = p.write_text("motd", "hello\n")
    assert isinstance(d, Derivation) and d.name == "motd"
    assert (
        str(d) == d.out_path
        and d.out_path.startswith("/declos/store/")
        and d.out_path.endswith("-motd")
    )
    assert d.drv_path.endswith("-motd.drv") and d.outputs == {"out": d.out_path}
    assert not (tmp_path / "root").exists()  # nothing opened yet
    assert p.realise(d) == [d.out_path]
    assert (tmp_path / "root" / d.out_path.lstrip("/")).read_text() == "hello\n"
    assert default_pkgs().store_dir == "/declos/store"


def test_string_context_makes_dependencies(pkgs: Pkgs) -> None:
    conf = pkgs.write_text("app.conf", "port = 8080\n")
    script = pkgs.write_shell_script_bin("app", f"exec cat {conf}\n")
    assert set(script.input_drvs) == {conf}
    env = pkgs.symlink_join("env", [script])
    pkgs.realise(env)
    store = pkgs.store
    assert store.closure([env.out_path]) == [conf.out_path, script.out_path, env.out_path]
    tool = store.real_path(script.out_path + "/bin/app")
    assert tool.read_text() == f"#!/bin/bash\nexec cat {conf}\n"
    assert os.stat(tool).st_mode & 0o777 == 0o555
    assert os.readlink(store.real_path(env.out_path + "/bin/app")) == script.out_path + "/bin/app"


def test_symlink_join_merges_directories_first_wins(pkgs: Pkgs) -> None:
    a = pkgs.write_text("a", "A", destination="/share/doc/a.txt")
    b = pkgs.write_text("b", "B", destination="/share/doc/b.txt")
    a2 = pkgs.write_text("a2", "other A", destination="/share/doc/a.txt")
    j = pkgs.symlink_join("docs", [a, b, a2])
    pkgs.realise(j)
    doc = pkgs.store.real_path(j.out_path + "/share/doc")
    assert sorted(os.listdir(doc)) == ["a.txt", "b.txt"]
    assert os.readlink(doc / "a.txt") == a.out_path + "/share/doc/a.txt"
    assert pkgs.store.references(j.out_path) == sorted([a.out_path, b.out_path])


def test_symlink_join_merges_linked_directories(pkgs: Pkgs, tmp_path: Path) -> None:
    """A Debian package's `bin` is a link to `usr/bin`; joined after a package with a real
    `bin/`, its programs still land in the join's bin (the VM test found jq missing)."""
    tree = tmp_path / "deb"
    (tree / "usr" / "bin").mkdir(parents=True)
    (tree / "usr" / "bin" / "tool").write_text("#!/bin/sh\n")
    (tree / "bin").symlink_to("usr/bin")
    deb = pkgs.store.add_path(tree, "deb")
    first = pkgs.write_text("first", "1", destination="/bin/first")
    later = pkgs.write_text("later", "2", destination="/bin/later")
    for order in ([first, deb, later], [deb, first, later]):
        j = pkgs.symlink_join("env-" + str(len(order)) + order[0].__class__.__name__, order)
        pkgs.realise(j)
        bin_dir = pkgs.store.real_path(j.out_path + "/bin")
        assert not os.path.islink(bin_dir)
        assert sorted(os.listdir(bin_dir)) == ["first", "later", "tool"]
        assert os.readlink(bin_dir / "tool") == deb + "/usr/bin/tool"


def test_run_command_in_sandbox_with_env_and_sources(pkgs: Pkgs, tmp_path: Path) -> None:
    srcdir = tmp_path / "site"
    srcdir.mkdir()
    (srcdir / "index.html").write_text("<h1>hi</h1>")
    site = pkgs.path(srcdir)
    d = pkgs.run_command(
        "site-copy",
        "mkdir -p $out/www; cp $src/index.html $out/www/; echo $GREETING > $out/greeting",
        env={"src": str(site), "GREETING": "bonjour"},
    )
    assert d.input_srcs == {site.out_path}
    pkgs.realise(d)
    real = pkgs.store.real_path(d.out_path)
    assert (real / "www" / "index.html").read_text() == "<h1>hi</h1>"
    assert (real / "greeting").read_text() == "bonjour\n"
    assert pkgs.store.path_info(site.out_path).nar_hash


def test_fetchurl_is_fixed_output_and_verified(pkgs: Pkgs, tmp_path: Path) -> None:
    f = tmp_path / "payload.tar"
    f.write_bytes(b"payload bytes")
    good = pkgs.fetchurl(f"file://{f}", hashlib.sha256(b"payload bytes").hexdigest())
    assert good.is_fixed_output and good.name == "payload.tar"
    pkgs.realise(good)
    assert pkgs.store.real_path(good.out_path).read_bytes() == b"payload bytes"
    bad = pkgs.fetchurl(f"file://{f}", hashlib.sha256(b"other").hexdigest(), name="bad")
    with pytest.raises(BuildError, match="hash mismatch in fixed-output derivation"):
        pkgs.realise(bad)
    assert not pkgs.store.is_valid(bad.out_path)


def test_independent_builds_run_in_parallel_and_dependents_after(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "root")
    pk = Pkgs(store)
    leaves = [pk.run_command(f"leaf{i}", f"sleep 0.3; echo {i} > $out") for i in range(3)]
    top = pk.run_command("top", "cat " + " ".join(map(str, leaves)) + " > $out")
    events: list[str] = []
    store.realise(top, progress=lambda what, d: events.append(d.name))
    assert events[-1] == "top" and sorted(events[:3]) == ["leaf0", "leaf1", "leaf2"]
    assert store.real_path(top.out_path).read_text() == "0\n1\n2\n"
