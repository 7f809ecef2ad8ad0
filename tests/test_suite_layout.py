"""The test tree's own layout rules.

pytest imports test files by basename in folders without an `__init__.py`
(rootdir import mode), so two such files with one basename stop the whole
collection: CI once failed after 27 s on `test_service_modules.py` in both
`tests/system/` and `vm-tests/`.
"""

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _basename_owners() -> dict[str, list[str]]:
    owners: dict[str, list[str]] = defaultdict(list)
    for top in ("tests", "vm-tests"):
        for path in (ROOT / top).rglob("test_*.py"):
            if not (path.parent / "__init__.py").exists():
                owners[path.name].append(str(path.relative_to(ROOT)))
    return owners


def test_test_files_outside_packages_have_unique_basenames() -> None:
    clashes = {name: paths for name, paths in _basename_owners().items() if len(paths) > 1}
    assert clashes == {}


def test_layout_scan_sees_both_trees() -> None:
    owners = _basename_owners()
    assert "test_service_modules_guest.py" in owners
    assert "test_layers.py" in owners
