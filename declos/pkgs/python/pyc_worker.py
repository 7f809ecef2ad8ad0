"""Bytecode worker: compiles the .py files named on stdin to canonical unchecked-hash .pyc.

Run by the target interpreter as a script (`python -I -S pyc_worker.py`, stdlib only, no
declos import), one per core for a whole build (declos.pkgs.python.bytecode). Every .pyc
of a store path is written by this code, never in the builder's own process.

stdin: batches, each a 4-byte little-endian length and records `SOURCE\\0DFILE\\0`
(DFILE: the name code objects carry, in the final store path); stdout: per batch a 4-byte
length and a message, empty when every file was handled. For each SOURCE it writes
`__pycache__/NAME.TAG.pyc` beside it, as compileall does with
`invalidation_mode=UNCHECKED_HASH`; a file that does not compile (a Python 2 template
shipped in a wheel) gets no .pyc and is skipped, as `compileall -q` skips it. A
worker compiles many store paths in turn: nothing of that history reaches the bytes.

Why canonical: `marshal.dumps` sets FLAG_REF on every object whose reference count is above
one at that moment, and the count depends on the process (caches holding interned names,
what was compiled before), so the same source gives different bytes in different
processes. `canonical_marshal` rewrites the stream so that only objects a later TYPE_REF
points to keep FLAG_REF, with reference indices renumbered: the bytes then depend only on
the code object graph, which compile() makes from the source and DFILE alone.
"""

from __future__ import annotations

# the import system's own module, always loaded: importlib.util would cost ~8 ms of imports
import _frozen_importlib_external as _external
import _imp
import marshal
import os
import sys

FLAG_REF = 0x80
_RAW_MAGIC = int.from_bytes(_external.MAGIC_NUMBER, "little")
_CODE_LAYOUTS = {(3, 11), (3, 12), (3, 13)}  # 5 longs, 8 objects, 1 long, 2 objects

# type code -> size of the fixed payload, for types without children
_FIXED = {
    ord("0"): 0, ord("N"): 0, ord("F"): 0, ord("T"): 0, ord("S"): 0, ord("."): 0,
    ord("?"): 0, ord("i"): 4, ord("g"): 8, ord("y"): 16,
}  # fmt: skip
_LEN4 = {ord(c) for c in "stuaA"}  # 4-byte length, then bytes
_LEN1 = {ord(c) for c in "zZ"}  # 1-byte length, then bytes
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
# string type -> (plain, interned) of its family: "z"/"Z", "a"/"A", "u"/"t"
_STRING_KINDS = {k: p for p in ((0x7A, 0x5A), (0x61, 0x41), (0x75, 0x74)) for k in p}
_SEQ4 = {ord(c) for c in "([<>"}  # 4-byte count, then objects


class MarshalError(Exception):
    """The stream is not one this worker can canonicalise."""


def _walk(data: bytes, pos: int, st: _State) -> int:
    """Walk one object from `pos`, noting where flagged objects and references are;
    return the position after it."""
    code = data[pos]
    kind = code & ~FLAG_REF
    if kind == 0x72:  # "r"
        st.refs.append(pos)
        return pos + 5
    if code & FLAG_REF:
        st.flagged.append(pos)
    start = pos + 1
    if kind in _LEN1:
        if data[start] <= 1:
            st.short.append(pos)
        return start + 1 + data[start]
    if kind in _LEN4:
        size = int.from_bytes(data[start : start + 4], "little")
        if size <= 2 and kind != 0x73 and len(data[start + 4 : start + 4 + size].decode()) <= 1:
            st.short.append(pos)
        return start + 4 + size
    if kind in _FIXED:
        return start + _FIXED[kind]
    if kind == 0x29:  # ")" small tuple
        p = start + 1
        for _ in range(data[start]):
            p = _walk(data, p, st)
        return p
    if kind in _SEQ4:
        p = start + 4
        for _ in range(int.from_bytes(data[start:p], "little")):
            p = _walk(data, p, st)
        return p
    if kind == 0x63:  # "c"
        p = start + 20
        for _ in range(8):
            p = _walk(data, p, st)
        p += 4
        for _ in range(2):
            p = _walk(data, p, st)
        return p
    if kind == 0x6C:  # "l"
        return start + 4 + 2 * abs(int.from_bytes(data[start : start + 4], "little", signed=True))
    if kind == 0x66:  # "f"
        return start + 1 + data[start]
    if kind == 0x78:  # "x"
        mid = start + 1 + data[start]
        return mid + 1 + data[mid]
    if kind == 0x7B:  # "{"
        p = start
        while data[p] != 0x30:
            p = _walk(data, _walk(data, p, st), st)
        return p + 1
    raise MarshalError(f"unknown marshal type {kind:#x} at {pos}")


class _State:
    def __init__(self) -> None:
        self.flagged: list[int] = []  # positions of objects with FLAG_REF, in index order
        self.refs: list[int] = []  # positions of TYPE_REF
        self.short: list[int] = []  # positions of strings of at most one character


def canonical_marshal(data: bytes) -> bytes:
    """`data` (one marshalled object) with FLAG_REF kept only where a TYPE_REF needs it,
    the references renumbered accordingly, and the interned bit of one-character strings
    fixed by `_short_kind`."""
    st = _State()
    if _walk(data, 0, st) != len(data):
        raise MarshalError("trailing bytes after the object")
    out = bytearray(data)
    targets = [int.from_bytes(data[p + 1 : p + 5], "little") for p in st.refs]
    used = set(targets)
    renumber: dict[int, int] = {}
    for index, pos in enumerate(st.flagged):
        if index in used:
            renumber[index] = len(renumber)
        else:
            out[pos] &= ~FLAG_REF
    for pos in st.short:
        out[pos] = _short_kind(data, pos) | (out[pos] & FLAG_REF)
    for pos, target in zip(st.refs, targets, strict=True):
        if target not in renumber:
            raise MarshalError(f"reference to {target} at {pos} is not to an earlier object")
        out[pos + 1 : pos + 5] = renumber[target].to_bytes(4, "little")
    return bytes(out)


def _short_kind(data: bytes, pos: int) -> int:
    """The type of the string of at most one character at `pos`: interned exactly when
    it is an ASCII letter, digit or underscore. Such strings are the interpreter's shared
    singletons, whose interned bit is whatever the process did before (a .pyc it loaded,
    an identifier `é` compiled earlier); the compiler interns the name-like ones anyway."""
    kind = data[pos] & ~FLAG_REF
    if kind in (0x7A, 0x5A):  # "z", "Z": 1-byte length
        text = data[pos + 2 : pos + 2 + data[pos + 1]].decode()
    else:
        text = data[pos + 5 : pos + 5 + int.from_bytes(data[pos + 1 : pos + 5], "little")].decode()
    name_like = text in _NAME_CHARS
    plain, interned = _STRING_KINDS[kind]
    return interned if name_like else plain


def compile_one(source: str, dfile: str) -> bool:
    """Write SOURCE's canonical .pyc; False when it does not compile."""
    with open(source, "rb") as f:
        raw = f.read()
    try:
        code = compile(raw, dfile, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    body = canonical_marshal(marshal.dumps(code))
    if marshal.loads(body) != code:
        raise MarshalError(f"{source}: canonical bytecode does not load back equal")
    pyc = _external.cache_from_source(source)
    os.makedirs(os.path.dirname(pyc), exist_ok=True)
    digest = _imp.source_hash(_RAW_MAGIC, raw)  # what importlib.util.source_hash does
    header = _external.MAGIC_NUMBER + (0b01).to_bytes(4, "little") + digest
    with open(pyc, "wb") as f:
        f.write(header + body)
    return True


def compile_batch(payload: bytes) -> str:
    """Compile one batch; '' when done, else what went wrong (the worker goes on)."""
    fields = payload.split(b"\0")
    if len(fields) % 2 != 1 or fields[-1]:
        return "pyc_worker: malformed batch"
    try:
        for i in range(0, len(fields) - 1, 2):
            compile_one(os.fsdecode(fields[i]), os.fsdecode(fields[i + 1]))
    except (OSError, MarshalError, RecursionError, MemoryError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def main() -> int:
    """Serve batches (4-byte little-endian length, then `SOURCE\\0DFILE\\0...`) until
    stdin ends; answer each with a 4-byte length and a message ('' = compiled)."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    unsupported = sys.version_info[:2] not in _CODE_LAYOUTS
    while len(head := stdin.read(4)) == 4:
        payload = stdin.read(int.from_bytes(head, "little"))
        if unsupported:
            reply = f"pyc_worker: unsupported Python {sys.version_info[:2]}"
        else:
            reply = compile_batch(payload)
        message = reply.encode()
        stdout.write(len(message).to_bytes(4, "little") + message)
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
