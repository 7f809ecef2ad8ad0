"""The four shadow-utils databases (/etc/passwd, group, shadow, gshadow) as named records.

declos edits these files directly rather than through useradd so the same code works on
a live host and inside an image root. Reading and writing happen under /etc/.pwd.lock
(lockf, like lckpwdf(3)) so declos cooperates with shadow-utils, and each file is
replaced by rename. Records keep the file's order and every line declos does not touch
is written back byte for byte (apart from padding missing trailing fields).
"""

from __future__ import annotations

import copy
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from declos.activation.errors import UsersError
from declos.common.atomic import atomic_write

# file -> (mode for a new file, number of fields)
FILES = {"passwd": (0o644, 7), "group": (0o644, 4), "shadow": (0o640, 9), "gshadow": (0o640, 4)}
LOCK_FILE = ".pwd.lock"


def _members(field: str) -> tuple[str, ...]:
    return tuple(m for m in field.split(",") if m)


@dataclass(frozen=True)
class PasswdEntry:
    name: str
    password: str
    uid: str
    gid: str
    gecos: str
    home: str
    shell: str

    def line(self) -> str:
        return ":".join(
            (self.name, self.password, self.uid, self.gid, self.gecos, self.home, self.shell)
        )


@dataclass(frozen=True)
class GroupEntry:
    name: str
    password: str
    gid: str
    members: tuple[str, ...]

    def line(self) -> str:
        return ":".join((self.name, self.password, self.gid, ",".join(self.members)))


@dataclass(frozen=True)
class ShadowEntry:
    name: str
    password: str
    aging: tuple[str, ...] = ("",) * 7  # lastchg min max warn inactive expire reserved

    def line(self) -> str:
        return ":".join((self.name, self.password, *self.aging))


@dataclass(frozen=True)
class GshadowEntry:
    name: str
    password: str
    admins: str
    members: tuple[str, ...]

    def line(self) -> str:
        return ":".join((self.name, self.password, self.admins, ",".join(self.members)))


def _fields(line: str, width: int) -> list[str]:
    cols = line.split(":")
    return cols + [""] * (width - len(cols))


@dataclass
class AccountDb:
    """The four tables. Planning works on a `copy()`; lookups are by name."""

    passwd: list[PasswdEntry]
    group: list[GroupEntry]
    shadow: list[ShadowEntry]
    gshadow: list[GshadowEntry]

    @classmethod
    def parse(cls, texts: dict[str, str]) -> AccountDb:
        def rows(name: str) -> list[list[str]]:
            width = FILES[name][1]
            return [_fields(x, width) for x in texts.get(name, "").splitlines() if x.strip()]

        return cls(
            passwd=[PasswdEntry(*r[:7]) for r in rows("passwd")],
            group=[GroupEntry(r[0], r[1], r[2], _members(r[3])) for r in rows("group")],
            shadow=[ShadowEntry(r[0], r[1], tuple(r[2:9])) for r in rows("shadow")],
            gshadow=[GshadowEntry(r[0], r[1], r[2], _members(r[3])) for r in rows("gshadow")],
        )

    @classmethod
    def read(cls, etc: Path) -> AccountDb:
        texts = {}
        for name in FILES:
            try:
                texts[name] = (etc / name).read_text()
            except FileNotFoundError:
                texts[name] = ""
        return cls.parse(texts)

    def copy(self) -> AccountDb:
        return copy.deepcopy(self)

    def render(self, table: str) -> str:
        rows: list[PasswdEntry] | list[GroupEntry] | list[ShadowEntry] | list[GshadowEntry]
        rows = getattr(self, table)
        return "".join(r.line() + "\n" for r in rows)

    def user(self, name: str) -> PasswdEntry | None:
        return next((r for r in self.passwd if r.name == name), None)

    def group_entry(self, name: str) -> GroupEntry | None:
        return next((r for r in self.group if r.name == name), None)

    def shadow_entry(self, name: str) -> ShadowEntry | None:
        return next((r for r in self.shadow if r.name == name), None)

    def put_user(self, entry: PasswdEntry) -> None:
        """Replace the user's record in place, or append it."""
        self.passwd = _put(self.passwd, entry)

    def put_group(self, entry: GroupEntry) -> None:
        self.group = _put(self.group, entry)
        gs = next((r for r in self.gshadow if r.name == entry.name), None)
        if gs is None:
            self.gshadow.append(GshadowEntry(entry.name, "!", "", entry.members))
        else:
            self.gshadow = _put(self.gshadow, replace(gs, members=entry.members))

    def put_shadow(self, entry: ShadowEntry) -> None:
        self.shadow = _put(self.shadow, entry)

    def drop_user(self, name: str) -> None:
        self.passwd = [r for r in self.passwd if r.name != name]
        self.shadow = [r for r in self.shadow if r.name != name]
        self.group = [
            replace(r, members=tuple(m for m in r.members if m != name)) for r in self.group
        ]
        self.gshadow = [
            replace(r, members=tuple(m for m in r.members if m != name)) for r in self.gshadow
        ]

    def drop_group(self, name: str) -> None:
        self.group = [r for r in self.group if r.name != name]
        self.gshadow = [r for r in self.gshadow if r.name != name]

    def uid(self, name: str) -> int:
        """A user name (or `+N`) as a number, for file ownership."""
        if name.startswith("+") and name[1:].isdigit():
            return int(name[1:])
        r = self.user(name)
        if r is None or not r.uid.isdigit():
            raise UsersError(f"unknown user {name!r}")
        return int(r.uid)

    def gid(self, name: str) -> int:
        if name.startswith("+") and name[1:].isdigit():
            return int(name[1:])
        r = self.group_entry(name)
        if r is None or not r.gid.isdigit():
            raise UsersError(f"unknown group {name!r}")
        return int(r.gid)

    def used_uids(self) -> set[int]:
        return {int(r.uid) for r in self.passwd if r.uid.isdigit()}

    def used_gids(self) -> set[int]:
        return {int(r.gid) for r in self.group if r.gid.isdigit()}


R = TypeVar("R", PasswdEntry, GroupEntry, ShadowEntry, GshadowEntry)


def _put(rows: list[R], entry: R) -> list[R]:
    out = [entry if r.name == entry.name else r for r in rows]
    if not any(r.name == entry.name for r in rows):
        out.append(entry)
    return out


@contextmanager
def locked(etc: Path) -> Iterator[None]:
    """Hold /etc/.pwd.lock (lockf, as lckpwdf(3)) for a read-plan-write cycle."""
    etc.mkdir(parents=True, exist_ok=True)
    fd = os.open(etc / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write(etc: Path, before: AccountDb, after: AccountDb) -> None:
    """Write each table that differs from `before` (call under `locked`), keeping an
    existing file's mode and owner."""
    for name, (mode, _width) in FILES.items():
        text = after.render(name)
        path = etc / name
        if text == before.render(name) and path.exists():
            continue
        if not text and not path.exists():
            continue
        uid = gid = None
        if path.exists():
            st = path.stat()
            mode = st.st_mode & 0o7777
            if os.geteuid() == 0:
                uid, gid = st.st_uid, st.st_gid
        atomic_write(path, text, mode=mode, uid=uid, gid=gid)
