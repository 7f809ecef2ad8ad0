"""builders.compile_bytecode writes the bytes compileall writes (unchecked-hash .pyc named
as under the store path), for every module compileall compiles, and skips what it skips."""

from __future__ import annotations

import compileall
import os
import py_compile
import shutil
from pathlib import Path

from declos.pkgs.python.builders import compile_bytecode

FINAL = "/declos/store/0000000000000000000000000000000a-python3.11-demo-1/lib/site-packages"
MODULES = {
    "demo/__init__.py": "from .util import twice\n__all__ = ['twice']\n",
    "demo/util.py": "def twice(x):\n    return 2 * x  # comment\n",
    "demo/latin.py": "# -*- coding: latin-1 -*-\nNAME = '\xe9'\n",
    "demo/sub/deep/mod.py": "import sys\nVALUE = [i for i in range(3)]\n",
    "demo/broken.py": "def f(:\n",
    "demo/data.txt": "not python\n",
    "top.py": "X = 1\n",
    "demo/__pycache__/util.cpython-311.pyc": "stale bytes a wheel shipped",
}


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_same_bytes_as_compileall(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for rel, text in MODULES.items():
        (ours / rel).parent.mkdir(parents=True, exist_ok=True)
        (ours / rel).write_bytes(text.encode("latin-1"))
    (ours / "demo/linked.py").symlink_to("util.py")
    shutil.copytree(ours, theirs, symlinks=True)
    compile_bytecode(str(ours), FINAL)
    compileall.compile_dir(
        str(theirs),
        quiet=2,
        workers=1,
        ddir=FINAL,
        force=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    got, want = tree(ours), tree(theirs)
    assert got == want
    pycs = sorted(k for k in got if k.endswith(".pyc"))
    assert pycs == [
        "__pycache__/top.cpython-311.pyc",
        "demo/__pycache__/__init__.cpython-311.pyc",
        "demo/__pycache__/latin.cpython-311.pyc",
        "demo/__pycache__/linked.cpython-311.pyc",
        "demo/__pycache__/util.cpython-311.pyc",
        "demo/sub/deep/__pycache__/mod.cpython-311.pyc",
    ]
    assert got["demo/__pycache__/util.cpython-311.pyc"][4:8] == b"\x01\x00\x00\x00"
    assert os.path.exists(ours / "demo/broken.py")
