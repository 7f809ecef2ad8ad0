"""Fast tests of the Debian layer's pure parts: versions, relations, lock files, cycles."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import pytest

from declos.pkgs.debian.errors import DebianError, NotInLock
from declos.pkgs.debian.lockfile import Lock, LockedPackage, read_lock
from declos.pkgs.debian.packages import acyclic, scc_ids
from declos.pkgs.debian.relations import Rel, parse_relations
from declos.pkgs.debian.sources import host_sources
from declos.pkgs.debian.version import compare

VERSIONS = [
    "1.0",
    "1.0~rc1",
    "1.0-1",
    "1.0-1~bpo1",
    "1:0.9",
    "1.0a",
    "1.0+dfsg-2",
    "1.00",
    "2.36-9+deb12u14",
    "2.36-9+deb12u4",
    "0~20230101",
    "1.0.1",
]


def test_version_order_matches_dpkg() -> None:
    for a, b in itertools.combinations(VERSIONS, 2):
        ours = compare(a, b)
        for op, ok in (("lt", ours < 0), ("eq", ours == 0), ("gt", ours > 0)):
            rc = subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode
            assert (rc == 0) == ok, (a, op, b)


def test_relations_alternatives_versions_arch_qualifiers() -> None:
    text = "libc6 (>= 2.34), perl:any, a (<< 2) | b [amd64] | c [!amd64], d [i386]"
    assert parse_relations(text) == [
        [Rel("libc6", ">=", "2.34")],
        [Rel("perl")],
        [Rel("a", "<<", "2"), Rel("b")],
    ]


def test_bad_relation_is_an_error() -> None:
    with pytest.raises(DebianError, match="cannot parse the package relation"):
        parse_relations("foo (>= )")


def test_sources_read_both_formats(tmp_path: Path) -> None:
    etc = tmp_path / "etc/apt/sources.list.d"
    etc.mkdir(parents=True)
    (tmp_path / "etc/apt/sources.list").write_text(
        "# c\ndeb [signed-by=/k.gpg arch=amd64] http://m.example/debian bookworm main contrib\n"
        "deb-src http://m.example/debian bookworm main\n"
    )
    (etc / "d.sources").write_text(
        "Types: deb\nURIs: http://m.example/d/\nSuites: a b\nComponents: main\n\n"
        "Types: deb\nEnabled: no\nURIs: http://x/\nSuites: c\nComponents: main\n"
    )
    got = host_sources(str(tmp_path))
    assert [(s.uri, s.suite, s.components, s.keyring) for s in got] == [
        ("http://m.example/debian", "bookworm", ("main", "contrib"), "/k.gpg"),
        ("http://m.example/d", "a", ("main",), "/usr/share/keyrings/debian-archive-keyring.gpg"),
        ("http://m.example/d", "b", ("main",), "/usr/share/keyrings/debian-archive-keyring.gpg"),
    ]


def test_no_sources_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DebianError, match="no `deb` source"):
        host_sources(str(tmp_path))


def _lock() -> Lock:
    def pkg(name: str, *deps: str) -> LockedPackage:
        return LockedPackage(
            name, "1", "amd64", "bookworm", f"pool/main/x/{name}_1_amd64.deb", 10, "a" * 64, deps
        )

    pkgs = [
        pkg("app", "libfoo", "bash"),
        pkg("libfoo", "libc6"),
        pkg("libc6", "libgcc-s1"),
        pkg("libgcc-s1", "libc6"),
    ]
    return Lock(
        essential=("bash",), roots=("app",), packages={p.name: p for p in pkgs}, path="x.lock"
    )


def test_lock_closure_excludes_base_unless_hermetic() -> None:
    lock = _lock()
    assert lock.closure("app") == ["app", "libfoo"]
    assert lock.closure("app", hermetic=True) == ["app", "libfoo", "libc6", "libgcc-s1"]
    assert lock.why_depends("app", "libgcc-s1") == ["app", "libfoo", "libc6", "libgcc-s1"]
    with pytest.raises(NotInLock, match="run `declos lock`"):
        lock.get("nginx")


def test_lock_round_trip_and_hostile_files(tmp_path: Path) -> None:
    lock = _lock()
    path = tmp_path / "declos.lock"
    lock.write(path)
    again = read_lock(path)
    assert again.packages == lock.packages and again.essential == ("bash",)
    assert "http" not in path.read_text()
    data = json.loads(path.read_text())
    data["packages"]["app"]["filename"] = "../../etc/passwd"
    path.write_text(json.dumps(data))
    with pytest.raises(DebianError, match="is not a pool path"):
        read_lock(path)
    path.write_text('{"version": 1,\n "packages": [}')
    with pytest.raises(DebianError, match=r"declos.lock:2: not valid JSON"):
        read_lock(path)


def test_cycles_are_cut_within_components_only() -> None:
    edges = {"a": ["b"], "b": ["c"], "c": ["b", "d"], "d": []}
    comp = scc_ids(edges)
    assert comp["b"] == comp["c"] and len({comp["a"], comp["b"], comp["d"]}) == 3
    assert acyclic(edges) == {"a": ["b"], "b": [], "c": ["b", "d"], "d": []}


def _deb(tmp: Path, members: list[tuple[str, str, bytes]]) -> Path:
    """A .deb (ar: debian-binary, control.tar.gz, data.tar.xz) with data members
    (name, kind "file"|"link"|"dir", content or link target)."""
    import io
    import tarfile

    def tar(entries: list[tuple[str, str, bytes]], mode: str) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode=mode) as t:
            for name, kind, data in entries:
                info = tarfile.TarInfo(name)
                if kind == "link":
                    info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                    t.addfile(info)
                elif kind == "dir":
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    t.addfile(info)
                else:
                    info.size, info.mode = len(data), 0o4755 if kind == "suid" else 0o644
                    t.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    parts = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", tar([("./control", "file", b"Package: x\n")], "w:gz")),
        ("data.tar.xz", tar(members, "w:xz")),
    ]
    out = b"!<arch>\n"
    for name, data in parts:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode() + data
        out += b"\n" if len(data) % 2 else b""
    path = tmp / "x.deb"
    path.write_bytes(out)
    return path


def test_deb_members_written_through_an_archive_symlink_are_refused(tmp_path: Path) -> None:
    from declos.pkgs.debian.deb import extract, read_deb

    outside = tmp_path / "outside"
    outside.mkdir()
    deb = _deb(tmp_path, [("./a", "link", str(outside).encode()), ("./a/evil", "file", b"x")])
    with pytest.raises(DebianError, match="'./a/evil' would be written through the symlink 'a'"):
        extract(read_deb(str(deb))[1], str(tmp_path / "dest"), "x 1")
    assert list(outside.iterdir()) == []
    deb = _deb(tmp_path, [("./usr/bin", "dir", b""), ("./usr/bin/su", "suid", b"#!/bin/sh\n")])
    got = extract(read_deb(str(deb))[1], str(tmp_path / "dest2"), "x 1")
    assert got.setuid == {"usr/bin/su": 0o4755}
    assert (tmp_path / "dest2/usr/bin/su").read_bytes() == b"#!/bin/sh\n"
    assert not (tmp_path / "dest2/usr/bin/su").stat().st_mode & 0o4000
