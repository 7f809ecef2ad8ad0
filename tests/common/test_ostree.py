"""The "is --root an OS tree" check resolves symlinks inside the tree, as activation does."""

from __future__ import annotations

from pathlib import Path

import pytest

from declos.common.ostree import NotAnOsTree, check_os_tree


def _tree(root: Path) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    return root


def test_a_tree_with_the_account_databases_is_accepted(tmp_path: Path) -> None:
    check_os_tree(str(_tree(tmp_path / "t")))


def test_an_etc_linking_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    outside = _tree(tmp_path / "outside")
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "etc").symlink_to(outside / "etc")
    with pytest.raises(NotAnOsTree) as info:
        check_os_tree(str(tree), "T")
    assert str(info.value).startswith(
        "--root T: etc/passwd, etc/group missing (symlinks in the tree resolve inside it"
    )


def test_an_absolute_link_that_resolves_inside_the_tree_is_accepted(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    _tree(tree / "real")
    (tree / "etc").symlink_to("/real/etc")
    check_os_tree(str(tree))


def test_a_relative_link_climbing_out_is_refused(tmp_path: Path) -> None:
    _tree(tmp_path / "outside")
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "etc").symlink_to("../outside/etc")
    with pytest.raises(NotAnOsTree, match="etc/passwd, etc/group missing"):
        check_os_tree(str(tree))
