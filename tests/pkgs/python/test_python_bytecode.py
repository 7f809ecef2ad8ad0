"""Bytecode of a distribution's store path, compiled by a pool of worker interpreters: the
bytes must not depend on the number of workers, the scheduling, or the process."""

from __future__ import annotations

import io
import marshal
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from installer import install
from installer.sources import WheelFile

from declos.pkgs import Pkgs
from declos.pkgs.python.builders import _StoreDestination
from declos.pkgs.python.bytecode import compile_tree, default_workers, sources, worker_pool
from declos.pkgs.python.errors import PythonError
from declos.pkgs.python.lockfile import PyLock
from declos.pkgs.python.pyc_worker import MarshalError, canonical_marshal
from declos.store import Store

PYTHON = "/usr/bin/python3.11"


def _build_all(tmp: Path, pylock: PyLock, *, workers: str, jobs: int) -> dict[str, str]:
    """Three distributions of the lock (setuptools: 328 files, two workers) built into a
    fresh store at `tmp` (removed after);
    {out path: NAR hash}."""
    store = Store(str(tmp / "store"), str(tmp / "var"))
    try:
        pkgs = Pkgs(store, python_lock=pylock.path)
        dists = [pkgs.python3.pkgs[name] for name in ("setuptools", "pyramid", "WebOb")]
        mp = pytest.MonkeyPatch()
        mp.setenv("DECLOS_BYTECODE_WORKERS", workers)
        try:
            outs = store.realise(dists, max_jobs=jobs)
        finally:
            mp.undo()
        return {out: store.path_info(out).nar_hash for out in outs}
    finally:
        store.close()
        shutil.rmtree(tmp)


def test_one_worker_and_two_workers_give_identical_store_paths(
    tmp_path: Path, pylock: PyLock
) -> None:
    """Two independent installs at the same store location, one after the other."""
    one = _build_all(tmp_path / "s", pylock, workers="1", jobs=1)
    two = _build_all(tmp_path / "s", pylock, workers="2", jobs=2)
    assert len(one) == 3
    assert one == two


def test_worker_bytes_equal_canonical_in_process_compile(tmp_path: Path, py_pkgs: Pkgs) -> None:
    """A .pyc written by a worker is exactly the canonical form of what compile() gives
    in this (very different) process: nothing of the process's state is in the bytes."""
    [out] = py_pkgs.realise(py_pkgs.python3.pkgs.pyramid)
    site = f"{out}/lib/python3.11/site-packages"
    files = [f for f in sources(site) if f.startswith("pyramid/")]
    assert "pyramid/util.py" in files
    for rel in files:
        directory, name = os.path.split(f"{site}/{rel}")
        with open(f"{directory}/__pycache__/{name[:-3]}.cpython-311.pyc", "rb") as f:
            pyc = f.read()
        with open(f"{site}/{rel}", "rb") as f:
            code = compile(f.read(), f"{site}/{rel}", "exec", dont_inherit=True)
        assert pyc[4:8] == b"\x01\0\0\0", rel  # unchecked hash
        assert pyc[16:] == canonical_marshal(marshal.dumps(code)), rel


def test_canonical_marshal_drops_flags_set_only_by_outside_references() -> None:
    shared = "".join(["twice ", "here"])
    value = ("".join(["not ", "interned"]), shared, shared)  # the tuple alone holds it
    alone = marshal.dumps(value)
    extra = value[0]  # one more reference: marshal now flags the string
    held = marshal.dumps(value)
    assert alone != held and extra is value[0]
    assert canonical_marshal(alone) == canonical_marshal(held)
    assert canonical_marshal(held) == (  # flagged: only the string referenced again
        b")\x03z\x0cnot interned" + b"\xfa\x0atwice here" + b"r\0\0\0\0"
    )
    assert marshal.loads(canonical_marshal(held)) == value
    # one-character strings are shared singletons whose interned bit is the process's
    # history: interned exactly when name-like, as the compiler makes any such name
    assert canonical_marshal(b"\xa9\x02Z\x01}z\x01x") == b")\x02z\x01}Z\x01x"
    assert canonical_marshal(b"t\x02\0\0\0\xc3\xa9") == b"u\x02\0\0\0\xc3\xa9"
    with pytest.raises(MarshalError, match="trailing bytes"):
        canonical_marshal(alone + b"N")


def test_files_that_do_not_compile_are_skipped_as_compileall_does(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "py2.py").write_text("print 'hello'\n")
    (tmp_path / "pkg" / "data.txt").write_text("x\n")
    assert compile_tree(PYTHON, str(tmp_path), "/final", workers=2) == 2
    assert sorted(os.listdir(tmp_path / "pkg" / "__pycache__")) == ["ok.cpython-311.pyc"]
    code = marshal.loads(
        (tmp_path / "pkg" / "__pycache__" / "ok.cpython-311.pyc").read_bytes()[16:]
    )
    assert code.co_filename == "/final/pkg/ok.py"


def test_bad_worker_count_and_failing_worker_are_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DECLOS_BYTECODE_WORKERS", "0")
    with pytest.raises(PythonError, match="DECLOS_BYTECODE_WORKERS='0': expected a positive"):
        default_workers()
    (tmp_path / "m.py").write_text("x = 1\n")
    (tmp_path / "__pycache__").write_text("a file where the worker makes a directory\n")
    with pytest.raises(PythonError, match="bytecode compilation failed"):
        compile_tree(PYTHON, str(tmp_path), "/final", workers=1)
    with pytest.raises(PythonError, match="cannot run the bytecode worker /nonexistent/python"):
        compile_tree("/nonexistent/python", str(tmp_path), "/final", workers=1)


def test_one_pool_serves_a_whole_build_and_outlives_a_failed_tree(tmp_path: Path) -> None:
    """Workers start once per build, not per store path: small trees reuse the first
    worker, a tree of >= 32 files adds the second, and a tree that fails leaves its worker
    serving the next one; every worker has ended when the pool is closed."""
    for name, count in (("a", 1), ("b", 3), ("c", 40)):
        for i in range(count):
            (tmp_path / name / "pkg").mkdir(parents=True, exist_ok=True)
            (tmp_path / name / "pkg" / f"m{i}.py").write_text(f"x = {i}\n")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "m.py").write_text("x = 1\n")
    (tmp_path / "bad" / "__pycache__").write_text("a file where the worker makes a directory\n")
    with worker_pool(2) as pool:
        assert pool.compile_tree(PYTHON, str(tmp_path / "a"), "/final/a") == 1
        assert pool.compile_tree(PYTHON, str(tmp_path / "b"), "/final/b") == 3
        assert pool.started == 1
        with pytest.raises(PythonError, match="bad: bytecode compilation failed: FileExistsError"):
            pool.compile_tree(PYTHON, str(tmp_path / "bad"), "/final/bad")
        assert pool.compile_tree(PYTHON, str(tmp_path / "c"), "/final/c") == 40
        assert pool.started == 2
        procs = [w.proc for w in pool._all]
    assert [p.returncode for p in procs] == [0, 0]
    for name, count in (("a", 1), ("b", 3), ("c", 40)):
        pycs = os.listdir(tmp_path / name / "pkg" / "__pycache__")
        assert len(pycs) == count
        code = marshal.loads((tmp_path / name / "pkg" / "__pycache__" / pycs[0]).read_bytes()[16:])
        assert code.co_filename.startswith(f"/final/{name}/pkg/m")


def _wheel(path: Path, entries: dict[str, bytes]) -> Path:
    dist = "evil-1.0.dist-info"
    files = {
        **entries,
        f"{dist}/METADATA": b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr(f"{dist}/RECORD", record)
    return path


def test_wheel_destination_refuses_paths_outside_its_scheme(tmp_path: Path) -> None:
    """The store's installer destination (os.path instead of installer's pathlib) keeps
    installer's checks: an entry that leaves site-packages is refused, nothing is written
    outside; a normal entry is written with its RECORD hash."""
    site = tmp_path / "out" / "site"
    scheme = {k: str(site) for k in ("purelib", "platlib", "headers", "scripts", "data")}
    dest = _StoreDestination(scheme, interpreter=PYTHON, script_kind="posix")
    bad = _wheel(tmp_path / "evil-1.0-py3-none-any.whl", {"evil/../../../escaped.py": b"x\n"})
    with WheelFile.open(bad) as source, pytest.raises(ValueError, match="outside of the target"):
        install(source, dest, {})
    assert not (tmp_path / "escaped.py").exists() and not (tmp_path / "out/escaped.py").exists()
    entry = dest.write_to_fs("purelib", "evil/ok.py", io.BytesIO(b"x = 1\n"), True)
    assert (site / "evil/ok.py").read_bytes() == b"x = 1\n"
    assert os.stat(site / "evil/ok.py").st_mode & 0o777 == 0o755
    assert (entry.path, entry.size, entry.hash_.value if entry.hash_ else "") == (
        "evil/ok.py",
        6,
        "nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q",
    )
    with pytest.raises(FileExistsError, match="File already exists"):
        dest.write_to_fs("purelib", "evil/ok.py", io.BytesIO(b""), False)
