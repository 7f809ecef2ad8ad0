"""Bytecode compilation of a store path on every core: a pool of worker interpreters.

compile() holds the GIL, so the store's builder threads cannot compile two wheels at once
in-process; like uv's `--compile-bytecode`, the files go to worker processes of the
target interpreter (pyc_worker.py). ALL .pyc of a store path are written by the worker,
whatever the number of workers, and the worker canonicalises marshal's FLAG_REF bits, so
the bytes depend on the sources and the final store path only (docs/python.md
§Bytecode).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from declos.pkgs.python.errors import PythonError

WORKER = str(Path(__file__).with_name("pyc_worker.py"))
_FILES_PER_WORKER = 16  # below this, a second worker's start costs more than it saves


def default_workers() -> int:
    """DECLOS_BYTECODE_WORKERS if set (tests pin it to show the bytes do not depend on
    it), else the number of cores."""
    value = os.environ.get("DECLOS_BYTECODE_WORKERS", "")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise PythonError(f"DECLOS_BYTECODE_WORKERS={value!r}: expected a positive integer")
        return int(value)
    return os.cpu_count() or 1


def sources(tree: str) -> list[str]:
    """The .py files compileall.compile_dir would compile under `tree`, relative, sorted:
    regular files ending in .py, not under __pycache__, no symlinked directories."""
    found: list[str] = []

    def walk(rel: str) -> None:
        for entry in sorted(os.scandir(os.path.join(tree, rel)), key=lambda e: e.name):
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.name == "__pycache__":
                continue
            if entry.is_dir(follow_symlinks=False):
                walk(path)
            elif entry.name.endswith(".py") and entry.is_file():
                found.append(path)

    walk("")
    return found


def compile_tree(python: str, tree: str, ddir: str, *, workers: int) -> int:
    """Compile every source under `tree` (code objects named `ddir/RELPATH`) with up to
    `workers` worker interpreters `python`; return the number of files handed out."""
    files = sources(tree)
    if not files:
        return 0
    n = max(1, min(workers, len(files) // _FILES_PER_WORKER))
    chunks = [files[i::n] for i in range(n)]
    procs = []
    for chunk in chunks:
        try:
            proc = subprocess.Popen(
                [python, "-I", "-S", WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise PythonError(f"cannot run the bytecode worker {python}: {exc}") from None
        procs.append((proc, chunk))
    for proc, chunk in procs:  # each worker reads all its input before compiling
        assert proc.stdin is not None
        with proc.stdin:
            for rel in chunk:
                proc.stdin.write(os.fsencode(f"{tree}/{rel}") + b"\0")
                proc.stdin.write(os.fsencode(f"{ddir}/{rel}") + b"\0")
    failures = []
    for proc, _ in procs:
        assert proc.stderr is not None
        with proc.stderr:
            err = proc.stderr.read()
        if proc.wait() != 0:
            failures.append(err.decode(errors="replace").strip()[-2000:])
    if failures:
        raise PythonError(f"{tree}: bytecode compilation failed: {failures[0]}")
    return len(files)
