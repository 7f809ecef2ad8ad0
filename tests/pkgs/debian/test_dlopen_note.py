"""`.note.dlopen` (freedesktop.org ELF dlopen metadata) read by the ELF fixup: a copy of
the host's /usr/bin/true with a note added by the real objcopy, fixed up with the real
patchelf against a one-library farm."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from declos.pkgs.debian.elf import NT_FDO_DLOPEN, read_elf
from declos.pkgs.debian.errors import DebianError
from declos.pkgs.debian.fixup import FARM, fixup, patchelf_binary


def _note(entries: list[dict[str, object]]) -> bytes:
    desc = json.dumps(entries).encode() + b"\0"
    desc += b"\0" * (-len(desc) % 4)
    return struct.pack("<III", 4, len(desc), NT_FDO_DLOPEN) + b"FDO\0" + desc


def _program(tmp: Path, entries: list[dict[str, object]]) -> Path:
    pkg = tmp / "pkg"
    (pkg / "usr/bin").mkdir(parents=True)
    (tmp / "note.bin").write_bytes(_note(entries))
    prog = pkg / "usr/bin/prog"
    shutil.copy("/usr/bin/true", prog)
    subprocess.run(
        ["objcopy", "--add-section", f".note.dlopen={tmp / 'note.bin'}", str(prog)], check=True
    )
    return pkg


ENTRIES = [
    {"feature": "regex", "priority": "required", "soname": ["libonig.so.5"]},
    {"feature": "x", "priority": "suggested", "soname": ["libnope.so.9", "libalt.so.1"]},
]


def test_the_note_is_read_and_its_libraries_resolved_through_the_farm(tmp_path: Path) -> None:
    pkg = _program(tmp_path, ENTRIES)
    info = read_elf(str(pkg / "usr/bin/prog"))
    assert info is not None and info.dlopen == [
        ("libonig.so.5", "required"),
        ("libnope.so.9", "suggested"),
        ("libalt.so.1", "suggested"),
    ]
    report = fixup(
        str(pkg), "/declos/store/x-prog", farm_names={"libonig.so.5"}, base_names={"libc.so.6"}
    )
    assert report.dlopen_missing == [
        ("usr/bin/prog", "libnope.so.9"),
        ("usr/bin/prog", "libalt.so.1"),
    ]
    runpath = subprocess.run(
        [patchelf_binary(), "--print-rpath", str(pkg / "usr/bin/prog")],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # true needs only libc (base): the farm is on RUNPATH because of the dlopen note
    assert runpath == f"/declos/store/x-prog/{FARM}"


def test_a_required_dlopen_library_outside_the_closure_fails_the_build(tmp_path: Path) -> None:
    pkg = _program(tmp_path, ENTRIES)
    with pytest.raises(DebianError, match=r"usr/bin/prog: libonig.so.5"):
        fixup(str(pkg), "/declos/store/x-prog", farm_names=set(), base_names={"libc.so.6"})
    report = fixup(
        str(pkg), "/declos/store/x-prog", farm_names=set(), base_names={"libc.so.6"},
        ignore_missing=["libonig.so.*"],
    )  # fmt: skip
    assert report.ignored == [("usr/bin/prog", "libonig.so.5")]


def test_a_malformed_note_is_ignored(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "usr/bin").mkdir(parents=True)
    (tmp_path / "note.bin").write_bytes(
        struct.pack("<III", 4, 8, NT_FDO_DLOPEN) + b"FDO\0" + b"{not js\0"
    )
    shutil.copy("/usr/bin/true", pkg / "usr/bin/prog")
    subprocess.run(
        ["objcopy", "--add-section", f".note.dlopen={tmp_path / 'note.bin'}",
         str(pkg / "usr/bin/prog")], check=True,
    )  # fmt: skip
    info = read_elf(str(pkg / "usr/bin/prog"))
    assert info is not None and info.dlopen == [] and info.needed == ["libc.so.6"]
