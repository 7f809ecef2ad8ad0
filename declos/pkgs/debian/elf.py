"""The few facts the fixup needs from an ELF file, read with `struct` (no dependency).

Interpreter (PT_INTERP), DT_NEEDED, DT_SONAME, DT_RUNPATH/DT_RPATH, the machine and
class, and the libraries a `.note.dlopen` section declares (the freedesktop.org ELF
dlopen metadata: notes of owner "FDO", type 0x407c0c0a, whose descriptor is a JSON
array of {"soname": [...], "priority": "required"|"recommended"|"suggested", ...}). Only 64-bit little-endian x86-64 objects are patched (the lock's architecture);
anything else is reported as not patchable rather than guessed at.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

ELF_MAGIC = b"\x7fELF"
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB, DT_SONAME, DT_RPATH, DT_RUNPATH = 0, 1, 5, 14, 15, 29
EM_X86_64 = 62
NT_FDO_DLOPEN = 0x407C0C0A


@dataclass
class ElfInfo:
    """What one ELF file asks of the dynamic loader."""

    machine: int
    etype: int
    interpreter: str = ""
    needed: list[str] = field(default_factory=list)
    soname: str = ""
    runpath: list[str] = field(default_factory=list)
    rpath: list[str] = field(default_factory=list)
    dynamic: bool = False
    # (soname, priority) of every library `.note.dlopen` says the object may dlopen
    dlopen: list[tuple[str, str]] = field(default_factory=list)


def is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == ELF_MAGIC
    except OSError:
        return False


def read_elf(path: str) -> ElfInfo | None:
    """Parse `path`; None when it is not a 64-bit little-endian ELF with program headers."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != ELF_MAGIC or data[4] != 2 or data[5] != 1:
        return None
    etype, machine = struct.unpack_from("<HH", data, 16)
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    info = ElfInfo(machine, etype)
    if not phoff or not phnum:
        return None
    info.dlopen = _dlopen_notes(data)
    loads: list[tuple[int, int, int]] = []
    dyn_off = dyn_size = 0
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 56 > len(data):
            return None
        ptype, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, off
        )
        if ptype == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif ptype == PT_INTERP:
            info.interpreter = data[p_offset : p_offset + p_filesz].split(b"\0", 1)[0].decode()
        elif ptype == PT_DYNAMIC:
            dyn_off, dyn_size = p_offset, p_filesz
    if not dyn_size:
        return info
    info.dynamic = True
    entries: list[tuple[int, int]] = []
    strtab_addr = 0
    for off in range(dyn_off, min(dyn_off + dyn_size, len(data) - 15), 16):
        tag, val = struct.unpack_from("<qQ", data, off)
        if tag == DT_NULL:
            break
        if tag == DT_STRTAB:
            strtab_addr = val
        entries.append((tag, val))
    strtab = _vaddr_to_offset(loads, strtab_addr)
    if strtab is None:
        return info

    def string(offset: int) -> str:
        start = strtab + offset
        end = data.index(b"\0", start)
        return data[start:end].decode("utf-8", errors="replace")

    for tag, val in entries:
        if tag == DT_NEEDED:
            info.needed.append(string(val))
        elif tag == DT_SONAME:
            info.soname = string(val)
        elif tag == DT_RUNPATH:
            info.runpath = [p for p in string(val).split(":") if p]
        elif tag == DT_RPATH:
            info.rpath = [p for p in string(val).split(":") if p]
    return info


def _vaddr_to_offset(loads: list[tuple[int, int, int]], addr: int) -> int | None:
    for vaddr, offset, size in loads:
        if vaddr <= addr < vaddr + size:
            return offset + (addr - vaddr)
    return None


def _dlopen_notes(data: bytes) -> list[tuple[str, str]]:
    """(soname, priority) from the `.note.dlopen` section; [] without one."""
    shoff = struct.unpack_from("<Q", data, 40)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
    if not shoff or not shnum or shstrndx >= shnum or shoff + shnum * shentsize > len(data):
        return []
    sections = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_off = sections[shstrndx][4]
    found: list[tuple[str, str]] = []
    for name, _type, _flags, _addr, offset, size in sections:
        end = data.find(b"\0", names_off + name)
        if data[names_off + name : end] != b".note.dlopen":
            continue
        pos, stop = offset, min(offset + size, len(data))
        while pos + 12 <= stop:
            namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
            owner = data[pos + 12 : pos + 12 + namesz].rstrip(b"\0")
            desc_at = pos + 12 + _align4(namesz)
            desc = data[desc_at : desc_at + descsz].rstrip(b"\0")
            pos = desc_at + _align4(descsz)
            if owner == b"FDO" and ntype == NT_FDO_DLOPEN:
                found += _parse_dlopen(desc)
    return found


def _align4(n: int) -> int:
    return (n + 3) & ~3


def _parse_dlopen(desc: bytes) -> list[tuple[str, str]]:
    try:
        entries = json.loads(desc.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return []
    out = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        priority = entry.get("priority", "recommended")
        for soname in entry.get("soname") or []:
            if isinstance(soname, str) and soname and "/" not in soname:
                out.append((soname, str(priority)))
    return out
