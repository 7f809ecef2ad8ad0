"""Real wheels into the store (one path each, installed by pypa's installer), environments
that are real virtualenvs, and an application whose console script runs from the store
with an empty environment (no PYTHONPATH)."""

from __future__ import annotations

import marshal
import os
import subprocess
from pathlib import Path

from declos.pkgs import Pkgs
from declos.store import Store

APP = Path(__file__).parent / "hello_app"


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env={}, capture_output=True, text=True, timeout=60, check=False)


def test_one_store_path_per_distribution_with_hash_pycs(py_pkgs: Pkgs) -> None:
    webob = py_pkgs.python3.pkgs.WebOb
    [out] = py_pkgs.realise(webob)
    assert out.endswith(f"-python3.11-WebOb-{webob.dist_version}")
    site = f"{out}/lib/python3.11/site-packages"
    info = [n for n in os.listdir(site) if n.endswith(".dist-info")]
    assert info == [f"webob-{webob.dist_version}.dist-info"]
    with open(f"{site}/{info[0]}/INSTALLER") as f:
        assert f.read() == "declos\n"
    pyc = f"{site}/webob/__pycache__/request.cpython-311.pyc"
    with open(pyc, "rb") as f:
        data = f.read()
    assert int.from_bytes(data[4:8], "little") == 1  # hash-based, not checked against mtime
    assert marshal.loads(data[16:]).co_filename == f"{site}/webob/request.py"


def test_with_packages_is_a_virtualenv_linking_into_the_dists(
    py_pkgs: Pkgs, py_store: Store
) -> None:
    env = py_pkgs.python3.with_packages(lambda ps: [ps.pyramid])
    [out] = py_pkgs.realise(env)
    with open(f"{out}/pyvenv.cfg") as f:
        assert f.read().splitlines()[:2] == [
            "home = /usr/bin",
            "include-system-site-packages = false",
        ]
    site = f"{out}/lib/python3.11/site-packages"
    # zope.interface and zope.deprecation share the namespace directory `zope`: merged
    assert not os.path.islink(f"{site}/zope")
    assert sorted(n for n in os.listdir(f"{site}/zope") if not n.startswith("_")) == [
        "deprecation",
        "interface",
    ]
    assert (
        os.readlink(f"{site}/pyramid")
        == f"{py_pkgs.python3.pkgs.pyramid.out_path}/lib/python3.11/site-packages/pyramid"
    )
    refs = set(py_store.references(out))
    assert py_pkgs.python3.pkgs.pyramid.out_path in refs
    r = _run(
        [
            f"{out}/bin/python",
            "-c",
            "import sys, zope.interface; print(sys.prefix); print(sys.base_prefix)",
        ]
    )
    assert (r.returncode, r.stdout, r.stderr) == (0, f"{out}\n/usr\n", "")
    r = _run([f"{out}/bin/pserve", "--help"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: pserve [-h] [-n NAME]")
    with open(f"{out}/bin/pserve") as f:
        assert f.readline() == f"#!{out}/bin/python3.11\n"


def test_build_application_runs_from_the_store_without_pythonpath(py_pkgs: Pkgs) -> None:
    app = py_pkgs.python3.build_application(APP)
    [out] = py_pkgs.realise(app)
    assert out.endswith("-hello-app-1.0")
    r = _run([f"{out}/bin/hello-app"])
    assert (r.returncode, r.stdout) == (0, f"hello from declos\n{out}\n")
    # Pyramid 2.0 imports pkg_resources, which setuptools 80 warns about: nothing else
    assert "Traceback" not in r.stderr and "pkg_resources is deprecated" in r.stderr


def test_same_lock_same_paths_in_two_evaluations(py_pkgs: Pkgs, py_store: Store) -> None:
    other = Pkgs(py_store, python_lock=py_pkgs.python3.lock.path)
    a = py_pkgs.python3.with_packages(["pyramid"]).out_path
    b = other.python3.with_packages(lambda ps: [ps.pyramid]).out_path
    assert a == b
