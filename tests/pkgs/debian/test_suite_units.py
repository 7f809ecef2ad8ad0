"""`override(suite=...)` without the archive: the lock's per-suite selections (format,
views, hostile files), the target-release candidate rule, and the errors that name the
configuration's line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from declos.config import EvaluationError, evaluate
from declos.pkgs import Pkgs
from declos.pkgs.debian.errors import DebianError, NotInLock
from declos.pkgs.debian.index import PackageIndex
from declos.pkgs.debian.lockfile import Lock, LockedPackage, LockedSuite, TargetSelection, read_lock
from declos.pkgs.debian.resolver import resolve

DECLOS = str(Path(sys.executable).with_name("declos"))


def _pkg(name: str, version: str, suite: str, *deps: str) -> LockedPackage:
    return LockedPackage(
        name, version, "amd64", suite, f"pool/main/x/{name}_{version}_amd64.deb", 10, "b" * 64, deps
    )


def _lock(path: str = "x.lock") -> Lock:
    main = [
        _pkg("app", "2", "bookworm-security", "libfoo", "libc6"),
        _pkg("libfoo", "1", "bookworm", "libc6"),
        _pkg("libc6", "2.36", "bookworm", "libgcc-s1"),
        _pkg("libgcc-s1", "12", "bookworm", "libc6"),
    ]
    target = [
        _pkg("app", "1", "bookworm", "libfoo", "libc6"),
        _pkg("libfoo", "1", "bookworm", "libc6"),
    ]
    return Lock(
        suites=[
            LockedSuite(s, "bookworm", "", "c" * 64) for s in ("bookworm-security", "bookworm")
        ],
        essential=("bash",),
        roots=("app",),
        packages={p.name: p for p in main},
        path=path,
        targets={"bookworm": TargetSelection(("app",), {p.name: p for p in target})},
    )


def test_a_suite_view_shares_the_main_base_and_keeps_its_own_versions() -> None:
    lock = _lock()
    view = lock.for_suite("bookworm")
    assert view.get("app").version == "1" and lock.get("app").version == "2"
    assert view.packages["libc6"] is lock.packages["libc6"]  # the base is the main one
    assert view.closure("app") == ["app", "libfoo"]
    assert view.closure("app", hermetic=True) == ["app", "libfoo", "libc6", "libgcc-s1"]
    assert lock.for_suite(None) is lock and lock.for_suite("bookworm") is view
    with pytest.raises(NotInLock, match=r"'jq' is not locked from suite 'bookworm' in x.lock"):
        view.get("jq")
    with pytest.raises(
        NotInLock,
        match=r"suite 'bookworm-backports' is not one of x.lock's suites "
        r"\(bookworm-security, bookworm\); add it to the host's apt sources",
    ):
        lock.for_suite("bookworm-backports")
    lock.suites.append(LockedSuite("bookworm-updates", "bookworm", "", "d" * 64))
    with pytest.raises(
        NotInLock, match=r"x.lock has no packages locked from suite 'bookworm-updates'"
    ):
        lock.for_suite("bookworm-updates")


def test_targets_round_trip_and_hostile_targets(tmp_path: Path) -> None:
    path = tmp_path / "declos.lock"
    _lock(str(path)).write(path)
    data = json.loads(path.read_text())
    assert data["targets"]["bookworm"]["roots"] == ["app"]
    assert sorted(data["targets"]["bookworm"]["packages"]) == ["app", "libfoo"]
    again = read_lock(path)
    assert again.targets == _lock(str(path)).targets
    bad = json.loads(path.read_text())
    bad["targets"]["bookworm-backports"] = bad["targets"].pop("bookworm")
    path.write_text(json.dumps(bad))
    with pytest.raises(DebianError, match="targets names suite 'bookworm-backports', which is not"):
        read_lock(path)
    bad = json.loads(json.dumps(data))
    bad["targets"]["bookworm"]["packages"]["app"]["depends"] = ["libmissing"]
    path.write_text(json.dumps(bad))
    with pytest.raises(DebianError, match="targets.bookworm: package app depends on libmissing"):
        read_lock(path)
    bad = json.loads(json.dumps(data))
    bad["targets"]["bookworm"]["roots"] = ["jq"]
    path.write_text(json.dumps(bad))
    with pytest.raises(DebianError, match="targets.bookworm: roots names jq, which the lock"):
        read_lock(path)
    bad["targets"]["bookworm"] = ["not", "an", "object"]
    path.write_text(json.dumps(bad))
    with pytest.raises(DebianError, match="malformed entry"):
        read_lock(path)


def _record(name: str, version: str, depends: str = "") -> tuple[str, ...]:
    return (
        name,
        version,
        "amd64",
        f"pool/main/{name}.deb",
        "1",
        "e" * 64,
        depends,
        "",
        "",
        "",
        "",
        "",
    )


def test_a_target_suite_wins_over_newer_versions_elsewhere_as_apt_t() -> None:
    index = PackageIndex(
        [
            ("bookworm-security", [_record("app", "2", "libfoo (>= 1)")]),
            ("bookworm", [_record("app", "1", "libfoo"), _record("libfoo", "1")]),
            ("bookworm-backports", [_record("libfoo", "3"), _record("other", "1")]),
        ]
    )
    assert index.candidate("app").version == "2"  # type: ignore[union-attr]
    assert index.candidate("libfoo").version == "3"  # type: ignore[union-attr]
    view = index.targeting("bookworm")
    assert view.candidate("app").version == "1"  # type: ignore[union-attr]
    assert view.candidate("libfoo").version == "1"  # type: ignore[union-attr]
    assert view.candidate("other").version == "1"  # type: ignore[union-attr]  (not in target)
    assert index.candidate("app").version == "2"  # type: ignore[union-attr]  (view is apart)
    res = resolve(view, ["app"])
    assert {n: c.version for n, c in res.packages.items()} == {"app": "1", "libfoo": "1"}
    on_base = resolve(view, ["app"], base=["libfoo"], installed_from=index)
    assert on_base.packages["libfoo"].version == "3"  # the base's version, not the target's


def test_recording_names_the_line_of_a_suite_the_host_does_not_have(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "def config(config, pkgs):\n"
        "    return {'environment.systemPackages': [\n"
        "        pkgs.jq, pkgs.zip.override(suite='bookworm'),\n"
        "        pkgs.git.override(suite='bookworm', recommends=True)]}\n"
    )
    pkgs = Pkgs(recording=True)
    pkgs.debian.available_suites = ["bookworm-security", "bookworm"]
    evaluate([str(tmp_path / "m.py")], special_args={"pkgs": pkgs}).value(
        "environment.systemPackages"
    )
    # `pkgs.zip` is evaluated before its override, so the main selection has it too
    assert pkgs.debian.recorded == {"jq", "zip", "git"}
    assert pkgs.debian.recorded_targets == {"bookworm": {"zip", "git"}}
    assert pkgs.debian.recorded_target_recommends == {"bookworm": {"git"}}
    (tmp_path / "m.py").write_text(
        "def config(config, pkgs):\n"
        "    return {'environment.systemPackages': [pkgs.jq.override(suite='bookworm-backports')]}\n"
    )
    pkgs = Pkgs(recording=True)
    pkgs.debian.available_suites = ["bookworm-security", "bookworm"]
    with pytest.raises(EvaluationError) as exc:
        evaluate([str(tmp_path / "m.py")], special_args={"pkgs": pkgs}).value(
            "environment.systemPackages"
        )
    assert "m.py:2" in str(exc.value)
    assert (
        "jq.override(suite='bookworm-backports'): the host's apt sources have no suite "
        "'bookworm-backports' (they have bookworm-security, bookworm)" in str(exc.value)
    )


def test_why_depends_in_a_suites_selection(tmp_path: Path) -> None:
    path = tmp_path / "declos.lock"
    _lock(str(path)).write(path)

    def why(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DECLOS, "why-depends", "--lock", str(path), *argv], capture_output=True, text=True
        )

    out = why("--suite", "bookworm", "app", "libgcc-s1")
    assert (out.returncode, out.stderr) == (0, "")
    assert out.stdout == "app 1\n  └── libc6 2.36\n    └── libgcc-s1 12\n"
    assert why("app", "libfoo").stdout == "app 2\n  └── libfoo 1\n"
    bad = why("--suite", "bookworm-backports", "app", "libfoo")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("error: suite 'bookworm-backports' is not one of ")
