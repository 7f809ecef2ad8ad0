"""`pkg.override(recommends=True)`: the package with its Recommends, as
`apt-get install -o APT::Install-Recommends=true` would install it (apt is the oracle),
locked by `declos lock` when the configuration asks for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from declos.config import evaluate
from declos.pkgs import Pkgs
from declos.pkgs.debian.errors import NotInLock
from declos.pkgs.debian.lockfile import read_lock
from declos.pkgs.debian.locking import Archive, make_lock
from declos.pkgs.debian.oracle import apt_closures
from declos.pkgs.debian.resolver import resolve
from declos.store import Store

ROOTS = ("tmux", "jq", "git", "postgresql")


def test_resolver_with_recommends_matches_apt(archive: Archive) -> None:
    apt = apt_closures(archive.suites, ROOTS, recommends=True)
    plain = apt_closures(archive.suites, ["git"])
    for root in ROOTS:
        ours = set(resolve(archive.index, [root], recommends=[root]).packages)
        assert ours == apt[root], (root, ours - apt[root], apt[root] - ours)
    assert len(apt["git"]) > len(plain["git"]) and "less" in apt["git"] - plain["git"]


def test_recommends_are_locked_apart_and_used_only_when_asked(
    archive: Archive, deb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "declos.lock"
    make_lock(archive, ["git", "jq"], recommends=["git"], path=str(path)).write(path)
    lock = read_lock(path)
    assert lock.recommends_roots == ("git",)
    assert {"less", "patch", "openssh-client"} <= set(lock.packages["git"].recommends)
    assert "less" not in lock.closure("git")
    pkgs = Pkgs(deb_store, lock=path)
    plain = {getattr(p, "pname", "") for p in pkgs.git.profile_packages()}
    full = pkgs.git.override(recommends=True)
    names = {getattr(p, "pname", "") for p in full.profile_packages()}
    assert {"less", "patch", "openssh-client"} <= names - plain
    assert full.out_path != pkgs.git.out_path
    assert full.override(recommends=False).out_path == pkgs.git.out_path
    with pytest.raises(NotInLock, match=r"jq is used with its Recommends .* run `declos lock`"):
        pkgs.jq.override(recommends=True)
    # a later lock run keeps the recommends roots
    again = make_lock(archive, ["jq"], old=lock, path=str(path))
    assert again.recommends_roots == ("git",) and again.packages["git"].recommends


def test_declos_lock_records_packages_used_with_recommends(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "def config(config, pkgs):\n"
        "    return {'environment.systemPackages': [pkgs.git.override(recommends=True), pkgs.jq]}\n"
    )
    pkgs = Pkgs(recording=True)
    evaluate([str(tmp_path / "m.py")], special_args={"pkgs": pkgs}).value(
        "environment.systemPackages"
    )
    assert pkgs.debian.recorded >= {"git", "jq"}
    assert pkgs.debian.recorded_recommends == {"git"}
