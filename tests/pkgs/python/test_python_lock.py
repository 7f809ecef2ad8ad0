"""pylock.toml (PEP 751): made from pip's report of a real resolution, read back, refused
with file:line when malformed."""

from __future__ import annotations

from pathlib import Path

import pytest

from declos.pkgs.python.errors import PythonError
from declos.pkgs.python.lockfile import PyLock, dumps, loads, read_pylock

PYRAMID_DEPS = (
    "hupper",
    "plaster",
    "plaster-pastedeploy",
    "setuptools",
    "translationstring",
    "venusian",
    "webob",
    "zope-deprecation",
    "zope-interface",
)


def test_lock_pins_versions_hashes_and_edges(pylock: PyLock) -> None:
    pyramid = pylock.get("pyramid")
    assert pyramid.version == "2.0.2"
    assert pyramid.dependencies == PYRAMID_DEPS
    assert [w.filename for w in pyramid.wheels] == ["pyramid-2.0.2-py3-none-any.whl"]
    assert len(pyramid.wheels[0].sha256) == 64
    assert pylock.get("plaster_pastedeploy").dependencies == ("pastedeploy", "plaster")
    assert pylock.closure(["pyramid"]) == sorted(
        {"pyramid", "pastedeploy", "zope-interface", *PYRAMID_DEPS}
    )


def test_written_lock_reads_back_identically(pylock: PyLock, tmp_path: Path) -> None:
    again = read_pylock(pylock.path)
    assert again.dists == pylock.dists
    assert dumps(again) == Path(pylock.path).read_text()


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('lock-version = "1.0"\n[[packages]\n', ["pylock.toml:2:", "not valid TOML"]),
        ('lock-version = "2.0"\n', ["pylock.toml:1:", '`lock-version` must be "1.0"']),
        (
            'lock-version = "1.0"\n[[packages]]\nname = "six"\nversion = "1.17.0"\n'
            'wheels = [{ url = "file:///w/six-1.17.0-py2.py3-none-any.whl", hashes = {md5 = "x"} }]\n',
            ["pylock.toml:3:", "six wheel six-1.17.0-py2.py3-none-any.whl", "hashes.sha256"],
        ),
        (
            'lock-version = "1.0"\n[[packages]]\nname = "six"\nversion = "1.17.0"\n',
            ["pylock.toml:3:", "six 1.17.0 has neither `wheels` nor `sdist`"],
        ),
        (
            'lock-version = "1.0"\n[[packages]]\nname = "../x"\nversion = "1"\n',
            ["packages[0].name must be a distribution name", "'../x'"],
        ),
    ],
)
def test_malformed_lock_is_refused_with_its_line(text: str, fragments: list[str]) -> None:
    with pytest.raises(PythonError) as err:
        loads(text, "pylock.toml")
    for fragment in fragments:
        assert fragment in str(err.value)


def test_unknown_distribution_names_the_locked_ones(pylock: PyLock) -> None:
    with pytest.raises(PythonError, match=r"no Python distribution 'numpy' is locked \(locked: "):
        pylock.get("numpy")
