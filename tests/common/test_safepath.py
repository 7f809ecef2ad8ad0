"""safe_join: every path stays inside its base, like openat2(RESOLVE_IN_ROOT)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from declos.common.safepath import PathEscape, is_inside, safe_join


def test_plain_and_absolute_relative_paths(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "etc/passwd") == tmp_path / "etc/passwd"
    assert safe_join(tmp_path, "/etc/passwd") == tmp_path / "etc/passwd"
    assert safe_join(tmp_path, "/") == tmp_path
    assert safe_join(tmp_path, "a/./b/../c") == tmp_path / "a/c"


def test_dotdot_above_base_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PathEscape, match=r"'/../../escaped' escapes .*: '\.\.' climbs above"):
        safe_join(tmp_path, "/../../escaped")
    assert not is_inside(tmp_path, "home/../../x")


def test_absolute_symlink_is_rerooted(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    base = tmp_path / "root"
    outside.mkdir()
    base.mkdir()
    os.symlink(str(outside), base / "home")
    assert safe_join(base, "/home/alice") == base / str(outside).lstrip("/") / "alice"


def test_relative_symlink_followed_inside_and_refused_outside(tmp_path: Path) -> None:
    base = tmp_path / "root"
    (base / "usr/share").mkdir(parents=True)
    (base / "etc").mkdir()
    os.symlink("../usr/share", base / "etc/share")
    assert safe_join(base, "etc/share/x") == base / "usr/share/x"
    os.symlink("../../outside", base / "etc/evil")
    with pytest.raises(PathEscape):
        safe_join(base, "etc/evil/f")


def test_final_link_not_followed_on_request(tmp_path: Path) -> None:
    os.symlink("/anything", tmp_path / "link")
    assert safe_join(tmp_path, "link", follow_final=False) == tmp_path / "link"
    assert safe_join(tmp_path, "link") == tmp_path / "anything"


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    with pytest.raises(PathEscape, match="too many levels of symbolic links"):
        safe_join(tmp_path, "a/x")
