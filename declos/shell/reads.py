"""The files an evaluation reads, recorded so the shell cache is keyed on every one of them.

A shell.py may import helper modules and open data files; editing any of them must make
the next `declos shell` evaluate again (what nix-direnv users ask of a cache that watches
only shell.nix). Python's audit hooks see every open: builtins.open, io.open, os.open,
pathlib, and the import system's io.open_code of a module's source or its .pyc; and every
directory listing (os.listdir, os.scandir: glob, pathlib's glob and iterdir, os.walk), so
a shell.py that globs a directory sees a file added there.

An audit hook cannot be removed, so this module registers one when it is imported, and
the hook does nothing unless the current context holds a recorder. `recording()` puts a
fresh set in a ContextVar for the length of its block and resets it afterwards: nothing
is recorded after the evaluation, nor on other threads (a thread starts with an empty
context), and no process-wide value is ever changed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_RECORDER: ContextVar[set[str] | None] = ContextVar("declos_shell_reads", default=None)
# os.listdir / os.scandir are what glob, pathlib's iterdir/glob and os.walk list with
_LISTINGS = frozenset({"os.listdir", "os.scandir"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# Never keys: the kernel's files, and the installed code (the standard library and
# site-packages on sys.path when this is imported, declos itself: the declos version is
# in the key). The current directory (a '' entry) is the project's, so it is not one.
_DECLOS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SYSTEM_ROOTS = (
    "/proc",
    "/sys",
    "/dev",
    _DECLOS,
    *(p for p in sys.path if p and os.path.isabs(p) and os.path.abspath(p) != os.getcwd()),
)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _LISTINGS:
        seen = _RECORDER.get()
        directory = "." if args[0] is None else args[0]
        if (
            seen is not None
            and isinstance(directory, str | bytes | os.PathLike)
            # the import system lists every sys.path directory it searches: not a key
            # (the module files it then reads are), or any new file there would be one
            and not sys._getframe(1).f_code.co_filename.startswith("<frozen importlib")
        ):
            seen.add(os.path.join(os.path.abspath(os.fsdecode(directory)), ""))
        return
    if event != "open":
        return
    seen = _RECORDER.get()
    if seen is None:
        return
    path, mode, flags = args
    if not isinstance(path, str | bytes | os.PathLike):
        return  # an already-open file descriptor
    if mode is not None and any(c in mode for c in "wax+"):
        return
    if mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS:
        return
    seen.add(os.path.abspath(os.fsdecode(path)))


sys.addaudithook(_audit)


@contextmanager
def recording() -> Iterator[set[str]]:
    """Collect the absolute paths of the files opened for reading in this block."""
    seen: set[str] = set()
    token = _RECORDER.set(seen)
    try:
        yield seen
    finally:
        _RECORDER.reset(token)


def source_of(path: str) -> str:
    """A module's source for its bytecode (`D/__pycache__/M.cpython-311.pyc` -> `D/M.py`):
    a fresh .pyc is read instead of the source, but it is the source the user edits."""
    directory, name = os.path.split(path)
    if os.path.basename(directory) != "__pycache__" or not name.endswith(".pyc"):
        return path
    return os.path.join(os.path.dirname(directory), name.split(".", 1)[0] + ".py")


def keyed_files(paths: Iterable[str], ignore: Iterable[str]) -> list[str]:
    """The recorded files a cache key covers: sources for bytecode, and directories whose
    listing was read (`DIR/`, with the trailing separator), sorted, without the
    interpreter's files, /proc, /sys, /dev, and the `ignore` directories (the store, the
    state directory, the project's .declos: their contents never change under a name, or
    are declos' own). A directory merely opened (a descriptor to list by) is no key."""
    roots = tuple(os.path.join(os.path.abspath(r), "") for r in (*_SYSTEM_ROOTS, *ignore) if r)
    kept = {source_of(p) for p in paths}
    return sorted(
        p
        for p in kept
        if not os.path.join(p, "").startswith(roots)
        and (p.endswith(os.sep) or not os.path.isdir(p))
    )
