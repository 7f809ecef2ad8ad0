"""Other tools' Python locks and requirement files, turned into declos' pylock.toml.

`declos lock --python-from FILE` writes PEP 751 `pylock.toml` from what uv or pip made:
- `uv.lock` (by its file name; uvlock.py): every locked distribution with all its
  archives and their SHA-256, dependency edges evaluated for this host;
- a pip installation report (`pip install --dry-run --report FILE`, a `.json` file):
  the archives pip chose, edges from each distribution's metadata (locking.py);
- a PEP 751 file another tool wrote (`pip lock`, `uv export --format pylock.toml`),
  checked and rewritten in declos' sorted form.
`declos lock --python-requirements FILE` resolves a requirements file with pip (as
`declos lock -c` does for a configuration's Python packages).
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from declos.pkgs.python.errors import PythonError, read_user_text
from declos.pkgs.python.lockfile import PyLock
from declos.pkgs.python.locking import lock_requirements, read_pip_report
from declos.pkgs.python.uvlock import read_python_lock


def import_lock(source: str | Path, *, path: str) -> PyLock:
    """The lock in `source` (uv.lock, pip report .json, or pylock.toml) as a PyLock to be
    written at `path`."""
    src = Path(source)
    if src.is_dir():
        raise PythonError(f"{src}: a directory; name a uv.lock, a pip report or a pylock.toml")
    lock = read_pip_report(src) if src.suffix == ".json" else read_python_lock(src)
    lock.path = path
    lock.created_by = "declos"
    return lock


def read_requirements(source: str | Path) -> list[str]:
    """The requirements of a requirements file: one PEP 508 requirement a line, `#`
    comments and blank lines ignored. pip's options (`-r`, `-e`, `--hash`, `--index-url`)
    are refused at their line: a lock takes its index from pip's configuration and
    writes the hashes itself."""
    src = Path(source)
    text = read_user_text(src)
    found: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if line.startswith("-"):
            raise PythonError(
                f"{src}:{number}: pip option {line.split()[0]!r} is not supported here; "
                "list requirements only (the index is pip's configuration, hashes are "
                "written into the lock)"
            )
        try:
            Requirement(line)
        except InvalidRequirement as exc:
            raise PythonError(f"{src}:{number}: not a PEP 508 requirement: {exc}") from None
        found.append(line)
    if not found:
        raise PythonError(f"{src}: no requirements in it")
    return found


def lock_requirements_file(
    source: str | Path, *, path: str, python: str = sys.executable
) -> PyLock:
    """The requirements of `source` resolved by pip into a lock to be written at `path`."""
    return lock_requirements(read_requirements(source), path=path, python=python)
