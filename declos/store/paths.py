"""Store path arithmetic, exactly as Nix computes it (src/libstore/store-dir-config.cc).

A store path is a pure function of (type, inner digest, store dir, name); everything here
is arithmetic on strings so the same inputs give Nix's paths when the store dir matches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from declos.store.errors import NotAStorePath, StoreError

NIX32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"
_NIX32_INDEX = {c: i for i, c in enumerate(NIX32_ALPHABET)}
HASH_LEN = 32
_NAME_RE = re.compile(r"^[0-9a-zA-Z+\-._?=]+$")
MAX_NAME_LEN = 211


def nix32_encode(data: bytes) -> str:
    """Nix's base32: last byte first, 5 bits at a time (src/libutil/base-nix-32.cc)."""
    size = len(data)
    n_chars = (size * 8 - 1) // 5 + 1
    out = []
    for n in range(n_chars - 1, -1, -1):
        b = n * 5
        i, j = divmod(b, 8)
        c = data[i] >> j
        if i + 1 < size:
            c |= data[i + 1] << (8 - j)
        out.append(NIX32_ALPHABET[c & 0x1F])
    return "".join(out)


def nix32_decode(text: str) -> bytes:
    """Inverse of nix32_encode; raises StoreError on characters outside the alphabet."""
    size = len(text) * 5 // 8
    out = bytearray(size)
    for n, ch in enumerate(reversed(text)):
        digit = _NIX32_INDEX.get(ch)
        if digit is None:
            raise StoreError(f"invalid character {ch!r} in Nix base32 string {text!r}")
        b = n * 5
        i, j = divmod(b, 8)
        if i < size:
            out[i] |= (digit << j) & 0xFF
        if j > 3 and i + 1 < size:
            out[i + 1] |= digit >> (8 - j)
        elif j > 3 and (digit >> (8 - j)):
            raise StoreError(f"invalid Nix base32 string {text!r} (excess bits)")
    return bytes(out)


def compress_hash(digest: bytes, size: int = 20) -> bytes:
    """XOR-fold a digest to `size` bytes (src/libutil/hash.cc compressHash)."""
    out = bytearray(size)
    for i, byte in enumerate(digest):
        out[i % size] ^= byte
    return bytes(out)


def check_name(name: str) -> None:
    """Reject names Nix rejects (path.cc checkName), with the reason and the allowed set."""
    if not name:
        raise StoreError("store path name is empty")
    if len(name) > MAX_NAME_LEN:
        raise StoreError(
            f"store path name {name[:40]!r}... is longer than {MAX_NAME_LEN} characters"
        )
    if name in (".", "..") or name.startswith(".-") or name.startswith("..-"):
        raise StoreError(f"store path name {name!r} is not allowed (it starts like '.' or '..')")
    if not _NAME_RE.match(name):
        bad = sorted({c for c in name if not _NAME_RE.match(c)})
        raise StoreError(
            f"store path name {name!r} contains forbidden character(s) {''.join(bad)!r}; "
            "allowed are letters, digits and + - . _ ? = (use --name to pick another name)"
        )


def make_store_path(type_: str, inner_hex: str, store_dir: str, name: str) -> str:
    check_name(name)
    fingerprint = f"{type_}:sha256:{inner_hex}:{store_dir}:{name}"
    digest = compress_hash(hashlib.sha256(fingerprint.encode()).digest())
    return f"{store_dir}/{nix32_encode(digest)}-{name}"


def make_type(kind: str, references: Iterable[str], self_ref: bool = False) -> str:
    parts = [kind, *sorted(set(references))]
    if self_ref:
        parts.append("self")
    return ":".join(parts)


def make_text_path(name: str, contents: bytes, references: Iterable[str], store_dir: str) -> str:
    """Path of a text file (builtins.toFile, .drv files): `text` type with its references."""
    inner = hashlib.sha256(contents).hexdigest()
    return make_store_path(make_type("text", references), inner, store_dir, name)


def make_source_path(
    name: str,
    nar_sha256_hex: str,
    references: Iterable[str],
    store_dir: str,
    self_ref: bool = False,
) -> str:
    """Path of a recursively hashed (NAR, sha256) path: `nix-store --add`, recursive FODs."""
    return make_store_path(
        make_type("source", references, self_ref), nar_sha256_hex, store_dir, name
    )


def make_fixed_output_path(
    name: str, recursive: bool, algo: str, hex_hash: str, store_dir: str
) -> str:
    """Fixed-output path: `source` for NAR+sha256, otherwise `output:out` over `fixed:out:`."""
    if recursive and algo == "sha256":
        return make_source_path(name, hex_hash, (), store_dir)
    inner = hashlib.sha256(
        f"fixed:out:{'r:' if recursive else ''}{algo}:{hex_hash}:".encode()
    ).hexdigest()
    return make_store_path("output:out", inner, store_dir, name)


def make_output_path(output: str, hash_modulo_hex: str, drv_name: str, store_dir: str) -> str:
    name = drv_name if output == "out" else f"{drv_name}-{output}"
    return make_store_path(f"output:{output}", hash_modulo_hex, store_dir, name)


def hash_part(path: str) -> str:
    base = path.rstrip("/").rsplit("/", 1)[-1]
    return base[:HASH_LEN]


def split_store_path(path: str, store_dir: str) -> tuple[str, str]:
    """(top-level store path, rest) for a path inside the store; StoreError otherwise."""
    prefix = store_dir.rstrip("/") + "/"
    if not path.startswith(prefix):
        raise NotAStorePath(f"{path!r} is not in the store {store_dir!r}")
    base, _, rest = path[len(prefix) :].partition("/")
    if (
        len(base) < HASH_LEN + 2
        or base[HASH_LEN] != "-"
        or any(c not in _NIX32_INDEX for c in base[:HASH_LEN])
    ):
        raise NotAStorePath(f"{path!r} is not a valid store path (expected {prefix}HASH-NAME)")
    return prefix + base, rest


def parse_hash(text: str, algo: str = "sha256") -> str:
    """Accept `sha256:` + nix32/hex/base64 or bare forms (as Nix does); return lowercase hex."""
    import base64
    import binascii

    value = text
    if ":" in value:
        prefix, value = value.split(":", 1)
        if prefix != algo:
            raise StoreError(f"hash {text!r} is not a {algo} hash")
    elif value.startswith(f"{algo}-"):
        value = value[len(algo) + 1 :]
    size = hashlib.new(algo).digest_size
    if len(value) == size * 2 and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    if len(value) == (size * 8 - 1) // 5 + 1:
        return nix32_decode(value).hex()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == size:
        return raw.hex()
    raise StoreError(f"{text!r} is not a valid {algo} hash (hex, Nix base32 or base64)")
