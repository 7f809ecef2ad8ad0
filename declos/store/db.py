"""The SQLite database of valid paths, with Nix's schema (src/libstore/schema.sql).

A path exists for the store only once it has a row here; the row is written after the
files are complete and canonical, so the database is the single source of validity.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from declos.store.errors import StoreError
from declos.store.schema import SCHEMA  # receiver.py carries an identical copy for remote stores

SCHEMA_VERSION = "10"


@dataclass
class PathInfo:
    """What the store knows about a valid path (Nix's ValidPathInfo)."""

    path: str
    nar_hash: str  # "sha256:<hex>"
    nar_size: int
    references: list[str] = field(default_factory=list)
    deriver: str | None = None
    registration_time: int = 0
    signatures: list[str] = field(default_factory=list)
    ca: str | None = None
    ultimate: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "narHash": self.nar_hash,
            "narSize": self.nar_size,
            "references": sorted(self.references),
            "deriver": self.deriver,
            "registrationTime": self.registration_time,
            "signatures": self.signatures,
            "ca": self.ca,
            "ultimate": self.ultimate,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PathInfo:
        """From the JSON form (export streams, the copy agent); StoreError if malformed."""
        try:
            return cls(
                path=str(data["path"]),
                nar_hash=str(data["narHash"]),
                nar_size=int(data["narSize"]),
                references=[str(r) for r in data.get("references") or []],
                deriver=data.get("deriver"),
                registration_time=int(data.get("registrationTime") or 0),
                signatures=[str(s) for s in data.get("signatures") or []],
                ca=data.get("ca"),
                ultimate=bool(data.get("ultimate")),
            )
        except KeyError as exc:
            raise StoreError(
                f"path info lacks the field {exc.args[0]!r}: {dict(data)!r:.200}"
            ) from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"malformed path info ({exc}): {data!r:.200}") from None


class Database:
    """Thread-safe access to db.sqlite (one connection per thread, WAL, busy timeout)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        conn = self._conn()
        with conn:
            conn.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("pragma journal_mode = wal")
            conn.execute("pragma synchronous = normal")
            conn.execute("pragma foreign_keys = on")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def is_valid(self, path: str) -> bool:
        row = self._conn().execute("select 1 from ValidPaths where path = ?", (path,)).fetchone()
        return row is not None

    def valid_subset(self, paths: Iterable[str]) -> set[str]:
        conn = self._conn()
        result: set[str] = set()
        items = list(paths)
        for i in range(0, len(items), 500):
            batch = items[i : i + 500]
            marks = ",".join("?" * len(batch))
            rows = conn.execute(f"select path from ValidPaths where path in ({marks})", batch)
            result.update(r[0] for r in rows)
        return result

    def query(self, path: str) -> PathInfo | None:
        conn = self._conn()
        row = conn.execute(
            "select id, hash, registrationTime, deriver, narSize, ultimate, sigs, ca "
            "from ValidPaths where path = ?",
            (path,),
        ).fetchone()
        if row is None:
            return None
        refs = [
            r[0]
            for r in conn.execute(
                "select path from Refs join ValidPaths on reference = id where referrer = ?",
                (row[0],),
            )
        ]
        return PathInfo(
            path=path,
            nar_hash=row[1],
            nar_size=row[4] or 0,
            references=sorted(refs),
            deriver=row[3],
            registration_time=row[2],
            signatures=(row[6] or "").split(),
            ca=row[7],
            ultimate=bool(row[5]),
        )

    def references(self, path: str) -> list[str]:
        return [
            r[0]
            for r in self._conn().execute(
                "select v2.path from ValidPaths v1 join Refs on Refs.referrer = v1.id "
                "join ValidPaths v2 on Refs.reference = v2.id where v1.path = ?",
                (path,),
            )
        ]

    def all_references(self) -> dict[str, list[str]]:
        """Whole reference graph in one query: closure of big sets without N queries."""
        graph: dict[str, list[str]] = {}
        for (p,) in self._conn().execute("select path from ValidPaths"):
            graph[p] = []
        for a, b in self._conn().execute(
            "select v1.path, v2.path from Refs join ValidPaths v1 on Refs.referrer = v1.id "
            "join ValidPaths v2 on Refs.reference = v2.id"
        ):
            graph[a].append(b)
        return graph

    def referrers(self, path: str) -> list[str]:
        return [
            r[0]
            for r in self._conn().execute(
                "select v1.path from ValidPaths v1 join Refs on Refs.referrer = v1.id "
                "join ValidPaths v2 on Refs.reference = v2.id where v2.path = ?",
                (path,),
            )
        ]

    def all_paths(self) -> list[str]:
        return [r[0] for r in self._conn().execute("select path from ValidPaths order by path")]

    def register(
        self, infos: Sequence[PathInfo], drv_outputs: dict[str, dict[str, str]] | None = None
    ) -> None:
        """Register paths (and their refs) in one transaction: all become valid or none."""
        conn = self._conn()
        now = int(time.time())
        conn.execute("begin immediate")
        try:
            for info in infos:
                conn.execute(
                    "insert or replace into ValidPaths (path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        info.path,
                        info.nar_hash,
                        info.registration_time or now,
                        info.deriver,
                        info.nar_size,
                        1 if info.ultimate else None,
                        " ".join(info.signatures) or None,
                        info.ca,
                    ),
                )
            for info in infos:
                (pid,) = conn.execute(
                    "select id from ValidPaths where path = ?", (info.path,)
                ).fetchone()
                conn.execute("delete from Refs where referrer = ?", (pid,))
                for ref in set(info.references):
                    row = conn.execute(
                        "select id from ValidPaths where path = ?", (ref,)
                    ).fetchone()
                    if row is None:
                        raise sqlite3.IntegrityError(f"reference {ref} of {info.path} is not valid")
                    conn.execute(
                        "insert or ignore into Refs (referrer, reference) values (?, ?)",
                        (pid, row[0]),
                    )
            for drv, outputs in (drv_outputs or {}).items():
                row = conn.execute("select id from ValidPaths where path = ?", (drv,)).fetchone()
                if row is not None:
                    for out_name, out_path in outputs.items():
                        conn.execute(
                            "insert or replace into DerivationOutputs (drv, id, path) values (?, ?, ?)",
                            (row[0], out_name, out_path),
                        )
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise

    def invalidate(self, paths: Iterable[str]) -> None:
        conn = self._conn()
        conn.execute("begin immediate")
        try:
            for p in paths:
                conn.execute("delete from ValidPaths where path = ?", (p,))
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise

    def set_hash(self, path: str, nar_hash: str, nar_size: int) -> None:
        self._conn().execute(
            "update ValidPaths set hash = ?, narSize = ? where path = ?", (nar_hash, nar_size, path)
        )

    def derivation_outputs(self, drv: str) -> dict[str, str]:
        return dict(
            self._conn().execute(
                "select DerivationOutputs.id, DerivationOutputs.path from DerivationOutputs "
                "join ValidPaths on drv = ValidPaths.id where ValidPaths.path = ?",
                (drv,),
            )
        )
