"""PostgreSQL under the deployment state, so a team shares deployments (issue 11).

`DECLOS_STATE=postgresql://USER@HOST/DB` (any libpq URL, e.g. `postgresql:///declos?host=
/run/pg`) makes `State` talk to PostgreSQL instead of the SQLite file. The schema, the
migrations and every query are `declos.deploy.state`'s own: `PgConnection` offers the
slice of sqlite3's connection interface that State, the lock and import use (`execute`
returning a cursor with fetchone/fetchall/rowcount/lastrowid) and rewrites SQLite's
dialect where PostgreSQL's differs:

| SQLite | PostgreSQL |
|---|---|
| `?` placeholders | `%s` |
| `begin immediate` (one writer at a time) | `begin` + `pg_advisory_xact_lock(KEY)`: write transactions of every deployer on every machine are serialised exactly as SQLite serialises its writers, so read-check-write sequences (the deployment lock, machine ids) stay atomic |
| `insert or replace into T values (...)` | `insert ... on conflict (T's key) do update set ...` |
| `integer primary key autoincrement` | `bigserial primary key`; `insert into machines` gets `returning id` for `lastrowid` |
| `real` (8-byte float in SQLite) | `double precision` (`real` is 4 bytes in PostgreSQL: timestamps would lose seconds) |
| `pragma ...` | nothing |

Per-deployment locks are the `locks` table as in SQLite: taken inside a serialised
transaction, so two people on two machines cannot both hold one. A holder on another
host cannot be checked for liveness and is trusted until it releases the lock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from declos.deploy.errors import StateError

# pg_advisory_xact_lock key of declos's state transactions ("declos" in ASCII).
ADVISORY_KEY = 0x6465636C6F73

# Table -> (columns in order, key columns) for `insert or replace`.
_UPSERT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "deployment_attrs": (("deployment", "name", "value"), ("deployment", "name")),
    "machine_attrs": (("machine", "name", "value"), ("machine", "name")),
    "host_keys": (
        ("deployment", "host", "port", "key_type", "key_base64", "learnt"),
        ("deployment", "host", "port", "key_type"),
    ),
    "locks": (
        ("deployment", "holder", "pid", "start_time", "since", "command"),
        ("deployment",),
    ),
}
_INSERT_OR_REPLACE = re.compile(r"^\s*insert or replace into (\w+) values", re.IGNORECASE)


def is_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def translate(sql: str) -> str:
    """SQLite's dialect as declos.deploy writes it -> PostgreSQL's."""
    text = sql.strip()
    m = _INSERT_OR_REPLACE.match(text)
    if m:
        table = m.group(1)
        if table not in _UPSERT:
            raise StateError(f"internal: no upsert key known for table {table!r}")
        columns, key = _UPSERT[table]
        text = f"insert into {table} values" + text[m.end() :]
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        text += f" on conflict ({', '.join(key)}) do update set {updates}"
    text = text.replace("integer primary key autoincrement not null", "bigserial primary key")
    text = re.sub(r"\breal\b", "double precision", text)
    if re.match(r"^insert into machines\b", text, re.IGNORECASE):
        text += " returning id"
    return text.replace("?", "%s")


class PgCursor:
    """What State reads from a cursor."""

    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return list(self._rows)


class PgConnection:
    """One libpq connection in autocommit mode; State's `begin`/`commit` delimit changes."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        try:
            import psycopg  # optional dependency: only PostgreSQL state needs it
        except ImportError:
            raise StateError(
                "DECLOS_STATE is a PostgreSQL URL but the psycopg library is not installed; "
                "install declos with the extra: pip install 'declos[postgresql]'"
            ) from None

        self.url = url
        self._errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=int(timeout))
        except psycopg.Error as exc:
            raise StateError(
                f"cannot connect to the state database {redacted(url)}: "
                f"{str(exc).strip()}; check DECLOS_STATE"
            ) from None

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        return self._errors

    def execute(self, sql: str, args: Sequence[Any] = ()) -> PgCursor:
        lowered = sql.strip().lower()
        if lowered.startswith("pragma "):
            return PgCursor([], 0, None)
        if lowered == "begin immediate":  # both in one round trip
            self.conn.execute(f"begin; select pg_advisory_xact_lock({ADVISORY_KEY})".encode())
            return PgCursor([], 0, None)
        cur = self.conn.execute(translate(sql).encode(), tuple(args))
        rows = cur.fetchall() if cur.description is not None else []
        lastrowid = int(rows[0][0]) if lowered.startswith("insert into machines") and rows else None
        return PgCursor(rows, cur.rowcount, lastrowid)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows, sent as one batch (psycopg's pipeline)."""
        with self.conn.cursor() as cur:
            cur.executemany(translate(sql).encode(), [tuple(r) for r in rows])

    def close(self) -> None:
        self.conn.close()
