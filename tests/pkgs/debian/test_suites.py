"""`pkg.override(suite=S)`: a package from another suite of the host's apt sources, side
by side with the default one (apt's `-t S` is the oracle), locked by `declos lock` and
built from the lock; the host here has bookworm, bookworm-updates and bookworm-security,
and `zip` is 3.0-13 in bookworm and 3.0-13+deb12u1 in bookworm-security."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from declos.pkgs import Pkgs
from declos.pkgs.debian.errors import NotInLock
from declos.pkgs.debian.lockfile import read_lock
from declos.pkgs.debian.locking import Archive, make_lock
from declos.pkgs.debian.oracle import apt_closures
from declos.pkgs.debian.resolver import LIBC_ROOT, resolve
from declos.pkgs.debian.sources import host_sources
from declos.store import Store

DECLOS = str(Path(sys.executable).with_name("declos"))
CONFIG = """def config(config, pkgs):
    return {"environment.systemPackages": [pkgs.zip, pkgs.zip.override(suite="bookworm")]}
"""


def test_a_target_suite_closure_matches_apt_t(archive: Archive) -> None:
    roots = ("zstd", "apache2", "curl")
    apt = apt_closures(archive.suites, roots, target="bookworm")
    view = archive.index.targeting("bookworm")
    for root in roots:  # from an empty system, exactly apt's set
        full = resolve(view, [root])
        assert set(full.packages) == apt[root], (root, set(full.packages) ^ apt[root])
    # the lock's selection: on top of the main selection's base, the same choices
    lock = make_lock(archive, ["jq"], targets={"bookworm": roots})
    base = set(lock.essential) | set(lock.libc_base()) | {LIBC_ROOT}
    target = lock.targets["bookworm"]
    assert target.roots == tuple(sorted(roots)) and not set(target.packages) & base
    for root in roots:
        picked = lock.for_suite("bookworm").closure(root)
        assert set(picked) <= apt[root], (root, set(picked) - apt[root])
        assert {n: target.packages[n].version for n in picked} == {
            n: resolve(view, [root]).packages[n].version for n in picked
        }
    assert lock.targets["bookworm"].packages["apache2"].version == "2.4.68-1~deb12u1"
    # a later `declos lock` that does not name them keeps the targets and their versions
    again = make_lock(archive, ["jq"], old=lock)
    assert again.targets == lock.targets
    assert archive.index.candidate("apache2").version == "2.4.71-1~deb12u1"  # type: ignore[union-attr]


def test_declos_lock_and_build_both_zips_side_by_side(tmp_path: Path, deb_store: Store) -> None:
    (tmp_path / "p.py").write_text(CONFIG)
    proc = subprocess.run(
        [DECLOS, "lock", "-c", "p.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert "+ zip 3.0-13+deb12u1\n" in proc.stdout and "+ zip 3.0-13 (bookworm)\n" in proc.stdout
    lock = read_lock(tmp_path / "declos.lock")
    assert lock.roots == ("zip",) and lock.packages["zip"].suite == "bookworm-security"
    assert lock.targets["bookworm"].roots == ("zip",)
    assert lock.targets["bookworm"].packages["zip"].version == "3.0-13"

    pkgs = Pkgs(deb_store, lock=tmp_path / "declos.lock")
    new, old = pkgs.zip, pkgs.zip.override(suite="bookworm")
    assert (new.deb_version, old.deb_version) == ("3.0-13+deb12u1", "3.0-13")
    assert old.locked.filename == "pool/main/z/zip/zip_3.0-13_amd64.deb"
    assert new.out_path != old.out_path
    assert old.override(suite=None).out_path == new.out_path
    assert old.override(hermetic=True).deb_version == "3.0-13"
    # libbz2-1.0 is the same version with the same dependencies: one store path for both
    assert [d.out_path for d in new.profile_packages()[1:]] == [
        d.out_path for d in old.profile_packages()[1:]
    ]
    deb_store.realise([new, old])
    for zip_ in (new, old):
        run = subprocess.run([f"{zip_.out_path}/bin/zip", "-v"], capture_output=True, text=True)
        assert run.returncode == 0 and "This is Zip 3.0" in run.stdout
    assert os.path.realpath(f"{new.out_path}/bin/zip") != os.path.realpath(
        f"{old.out_path}/bin/zip"
    )
    with pytest.raises(
        NotInLock,
        match=r"declos.lock has no packages locked from suite 'bookworm-updates'; run `declos lock`",
    ):
        pkgs.zip.override(suite="bookworm-updates")
    with pytest.raises(
        NotInLock, match=r"suite 'bookworm-backports' is not one of .*declos.lock's"
    ):
        pkgs.zip.override(suite="bookworm-backports")


@pytest.mark.skipif(
    "bookworm-backports" in {s.suite for s in host_sources()},
    reason="the host's apt sources have bookworm-backports",
)
def test_declos_lock_names_the_line_of_a_suite_the_host_lacks(tmp_path: Path) -> None:
    (tmp_path / "p.py").write_text(CONFIG.replace('suite="bookworm"', 'suite="bookworm-backports"'))
    proc = subprocess.run(
        [DECLOS, "lock", "-c", "p.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith(
        "error: p.py:2: DebianError: zip.override(suite='bookworm-backports')"
    )
    assert "the host's apt sources have no suite 'bookworm-backports'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "declos.lock").exists()
