"""Reference scanning: which candidate store paths a NAR mentions (src/libstore/references.cc).

Runtime dependencies are discovered, never declared: a path refers to another exactly when
the other's 32-character hash part occurs anywhere in its NAR bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from declos.store.paths import HASH_LEN, hash_part

_RUN = re.compile(rb"[0-9a-df-np-sv-z]{32,}")
_FIND_LIMIT = 16


class RefScanner:
    """A sink for NAR bytes that records which candidates' hash parts it has seen.

    With few candidates, bytes.find per candidate (memchr speed) beats a regex over
    base32 runs; with many, one pass finding runs of alphabet characters wins.
    """

    def __init__(self, candidates: Iterable[str]) -> None:
        self._by_hash: dict[bytes, str] = {hash_part(p).encode(): p for p in candidates}
        self._tail = b""
        self.found: set[str] = set()

    def __call__(self, data: bytes) -> None:
        if not self._by_hash:
            return
        buf = self._tail + data
        if len(self._by_hash) <= _FIND_LIMIT:
            for h in list(self._by_hash):
                if buf.find(h) >= 0:
                    self.found.add(self._by_hash.pop(h))
        else:
            for m in _RUN.finditer(buf):
                run = m.group()
                for i in range(len(run) - HASH_LEN + 1):
                    path = self._by_hash.pop(run[i : i + HASH_LEN], None)
                    if path is not None:
                        self.found.add(path)
        self._tail = buf[-(HASH_LEN - 1) :]


def scan_text(text: str | bytes, candidates: Iterable[str]) -> set[str]:
    scanner = RefScanner(candidates)
    scanner(text.encode() if isinstance(text, str) else text)
    return scanner.found
