"""Export/import: a stream of NARs with their path metadata (docs/copy-protocol.md, "path stream").

The same framing is what `copy` sends over SSH, so `declos store export | ssh host
declos store import` and `declos store copy` move identical bytes.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, BinaryIO

from declos.store.db import PathInfo
from declos.store.errors import StoreError
from declos.store.nar import nstr

if TYPE_CHECKING:
    from declos.store.store import Store

_U64 = struct.Struct("<Q")


def export_paths(
    store: Store,
    paths: Iterable[str],
    write: Callable[[bytes], object],
    progress: Callable[[str, int], None] | None = None,
) -> int:
    """Write `1, info-json, NAR` per path, then `0`. Returns the NAR bytes written."""
    total = 0
    for p in paths:
        info = store.path_info(p)
        write(_U64.pack(1) + nstr(json.dumps(info.to_json()).encode()))
        store.dump(p, write)
        total += info.nar_size
        if progress:
            progress(p, info.nar_size)
    write(_U64.pack(0))
    return total


def import_paths(
    store: Store, stream: BinaryIO, progress: Callable[[str], None] | None = None
) -> list[str]:
    """Read an export stream; each path is verified and registered as it arrives."""
    imported: list[str] = []

    def exact(n: int) -> bytes:
        data = stream.read(n)
        while len(data) < n:
            more = stream.read(n - len(data))
            if not more:
                raise StoreError("export stream ended early (truncated?)")
            data += more
        return data

    while True:
        (tag,) = _U64.unpack(exact(8))
        if tag == 0:
            return imported
        if tag != 1:
            raise StoreError(f"bad export stream: unexpected tag {tag}")
        (n,) = _U64.unpack(exact(8))
        meta = exact(n + ((-n) % 8))[:n]
        try:
            info = PathInfo.from_json(json.loads(meta))
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"bad export stream: unreadable path metadata ({exc})") from exc
        store.add_nar(info, stream.read)
        imported.append(info.path)
        if progress:
            progress(info.path)
