"""The four shadow-utils databases (/etc/passwd, group, shadow, gshadow) as tables.

declos edits these files directly rather than through useradd so the same code works on
a live host and inside an image root; it takes /etc/.pwd.lock with lockf like lckpwdf(3)
so it cooperates with shadow-utils, and writes each file by rename.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from declos.common.atomic import atomic_write

FILES = {"passwd": (0o644, 7), "group": (0o644, 4), "shadow": (0o640, 9), "gshadow": (0o640, 4)}


class AccountDb:
    def __init__(self, etc: Path) -> None:
        self.etc = etc
        self.tables: dict[str, list[list[str]]] = {}
        self._orig: dict[str, list[list[str]]] = {}
        for name, (_mode, width) in FILES.items():
            rows = []
            try:
                text = (etc / name).read_text()
            except FileNotFoundError:
                text = ""
            for line in text.splitlines():
                if not line.strip():
                    continue
                cols = line.split(":")
                cols += [""] * (width - len(cols))
                rows.append(cols)
            self.tables[name] = rows
            self._orig[name] = [list(r) for r in rows]

    def row(self, table: str, name: str) -> list[str] | None:
        for r in self.tables[table]:
            if r[0] == name:
                return r
        return None

    def drop(self, table: str, name: str) -> None:
        self.tables[table] = [r for r in self.tables[table] if r[0] != name]

    def uid(self, name: str) -> int:
        if name.startswith("+"):
            return int(name[1:])
        r = self.row("passwd", name)
        if r is None:
            raise KeyError(f"unknown user {name!r}")
        return int(r[2])

    def gid(self, name: str) -> int:
        if name.startswith("+"):
            return int(name[1:])
        r = self.row("group", name)
        if r is None:
            raise KeyError(f"unknown group {name!r}")
        return int(r[2])

    def used_uids(self) -> set[int]:
        return {int(r[2]) for r in self.tables["passwd"] if r[2].isdigit()}

    def used_gids(self) -> set[int]:
        return {int(r[2]) for r in self.tables["group"] if r[2].isdigit()}

    def changed(self) -> bool:
        return self.tables != self._orig

    def save(self) -> None:
        """Write the tables that changed, each atomically, under /etc/.pwd.lock."""
        lock = os.open(self.etc / ".pwd.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.lockf(lock, fcntl.LOCK_EX)
            for name, (mode, _w) in FILES.items():
                if self.tables[name] == self._orig[name] and (self.etc / name).exists():
                    continue
                if not self.tables[name] and not (self.etc / name).exists():
                    continue
                path = self.etc / name
                uid = gid = None
                if path.exists():
                    st = path.stat()
                    mode, uid, gid = st.st_mode & 0o7777, st.st_uid, st.st_gid
                    if os.geteuid() != 0:
                        uid = gid = None
                text = "".join(":".join(r) + "\n" for r in self.tables[name])
                atomic_write(path, text, mode=mode, uid=uid, gid=gid)
            self._orig = {k: [list(r) for r in v] for k, v in self.tables.items()}
        finally:
            os.close(lock)
