"""The deployment state: one embedded SQLite file (NixOps' statefile, with locks and host keys).

Default `~/.declos/deployments.db`, `$DECLOS_STATE` moves it (a `postgresql://` URL puts
it in a PostgreSQL database a team shares: declos/deploy/state_postgres.py). The file is created 0600
before SQLite opens it (its -wal/-shm files inherit that mode), journals in WAL mode and
commits every change in its own transaction, so a `kill -9` at any moment leaves either
the old or the new row, never half of one. The schema is versioned: `MIGRATIONS[i]`
takes a database from version i to i+1, each in one transaction.

Secrets never enter this file: `deployment.keys` are read from their sources at deploy
time and streamed to the target. What is stored: deployments, their network file paths,
machines with key/value attributes (JSON values), learnt host keys, locks, and a history
of deploys.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from declos.deploy.errors import DeploymentExists, NoSuchDeployment, StateError
from declos.deploy.state_postgres import PgConnection, is_url, redacted

SCHEMA_VERSION = 1

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1
    """
    create table deployments (
        uuid    text primary key not null,
        name    text unique not null,
        created real not null
    );
    create table deployment_attrs (
        deployment text not null references deployments(uuid) on delete cascade,
        name       text not null,
        value      text not null,
        primary key (deployment, name)
    );
    create table network_files (
        deployment text not null references deployments(uuid) on delete cascade,
        position   integer not null,
        path       text not null,
        absolute   text not null,
        primary key (deployment, position)
    );
    create table machines (
        id         integer primary key autoincrement not null,
        deployment text not null references deployments(uuid) on delete cascade,
        name       text not null,
        unique (deployment, name)
    );
    create table machine_attrs (
        machine integer not null references machines(id) on delete cascade,
        name    text not null,
        value   text not null,
        primary key (machine, name)
    );
    create table host_keys (
        deployment text not null references deployments(uuid) on delete cascade,
        host       text not null,
        port       integer not null,
        key_type   text not null,
        key_base64 text not null,
        learnt     real not null,
        primary key (deployment, host, port, key_type)
    );
    create table locks (
        deployment text primary key not null references deployments(uuid) on delete cascade,
        holder     text not null,
        pid        integer not null,
        start_time text not null,
        since      real not null,
        command    text not null
    );
    create table deploy_log (
        id         integer primary key autoincrement not null,
        deployment text not null references deployments(uuid) on delete cascade,
        machine    text not null,
        started    real not null,
        finished   real not null,
        outcome    text not null,
        toplevel   text
    );
    """,
)


def state_url() -> str | None:
    """`$DECLOS_STATE` when it is a PostgreSQL URL (a state shared by a team)."""
    env = os.environ.get("DECLOS_STATE", "")
    return env if is_url(env) else None


def default_path() -> Path:
    """`$DECLOS_STATE`, else `~/.declos/deployments.db`."""
    env = os.environ.get("DECLOS_STATE")
    if env:
        return Path(env)
    return Path.home() / ".declos" / "deployments.db"


@dataclass(frozen=True)
class NetworkFile:
    path: str  # as given to `create` (relative paths resolve against the cwd first)
    absolute: str  # where it was at `create` time (the fallback)

    def resolve(self) -> str:
        """The file to read: as given if it exists from here, else where it was at create."""
        if os.path.isabs(self.path) or os.path.exists(self.path):
            return self.path
        return self.absolute


@dataclass(frozen=True)
class Deployment:
    uuid: str
    name: str
    created: float


@dataclass(frozen=True)
class HostKey:
    host: str
    port: int
    key_type: str
    key_base64: str
    learnt: float


class State:
    """An open state database. One per process; not shared between threads without `lock`."""

    db: Any  # sqlite3.Connection, or PgConnection (the same slice of its interface)

    def __init__(self, path: Path | str | None = None, *, timeout: float = 30.0) -> None:
        self._mutex = threading.RLock()
        url = str(path) if path is not None else (state_url() or "")
        if is_url(url):  # a shared PostgreSQL database (declos/deploy/state_postgres.py)
            self.path = Path(redacted(url))
            self.location = redacted(url)
            pg = PgConnection(url, timeout)
            self.db = pg
            try:
                self._migrate()
            except pg.errors as exc:
                raise StateError(f"{self.location}: {str(exc).strip()}") from None
            return
        self.path = Path(path) if path is not None else default_path()
        self.location = str(self.path)
        _create_private(self.path)
        try:
            self.db = sqlite3.connect(
                str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self.db.execute("pragma journal_mode = wal")
            self.db.execute("pragma foreign_keys = on")
            self.db.execute("pragma synchronous = normal")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"{self.path}: not a usable declos state database ({exc}); "
                "move it aside or set DECLOS_STATE to another file"
            ) from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------

    def _migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION, one step per transaction (re-read inside it,
        so two processes opening a fresh file do not both apply a step)."""
        self.db.execute("create table if not exists schema_version (version integer not null)")
        while True:
            with self.transaction() as db:
                row = db.execute("select version from schema_version").fetchone()
                if row is None:
                    db.execute("insert into schema_version values (0)")
                version = int(row[0]) if row else 0
                if version > SCHEMA_VERSION:
                    raise StateError(
                        f"{self.path} has schema version {version}, newer than this declos "
                        f"understands ({SCHEMA_VERSION}); upgrade declos"
                    )
                if version == SCHEMA_VERSION:
                    return
                for statement in _statements(MIGRATIONS[version]):
                    db.execute(statement)
                db.execute("update schema_version set version = ?", (version + 1,))

    def schema_version(self) -> int:
        return int(self.rows("select version from schema_version")[0][0])

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """`begin immediate` … commit (rollback on any exception): one atomic change.

        Deploy workers share this connection; the mutex keeps their transactions apart."""
        with self._mutex:
            self.db.execute("begin immediate")
            try:
                yield self.db
            except BaseException:
                self.db.execute("rollback")
                raise
            self.db.execute("commit")

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """A read query's rows (under the mutex, so no worker's open transaction interleaves)."""
        with self._mutex:
            return self.db.execute(sql, args).fetchall()

    # -- deployments ----------------------------------------------------------------

    def create(self, name: str, files: Sequence[str]) -> Deployment:
        _check_name(name)
        dep = Deployment(str(uuidlib.uuid4()), name, time.time())
        with self.transaction() as db:
            if db.execute("select 1 from deployments where name = ?", (name,)).fetchone():
                raise DeploymentExists(
                    f"a deployment named {name!r} exists already; pick another name "
                    f"or `declos modify -d {name} FILE...`"
                )
            db.execute("insert into deployments values (?, ?, ?)", (dep.uuid, name, dep.created))
            self._set_files(db, dep.uuid, files)
        return dep

    def _set_files(self, db: sqlite3.Connection, uuid: str, files: Sequence[str]) -> None:
        db.execute("delete from network_files where deployment = ?", (uuid,))
        for i, f in enumerate(files):
            db.execute(
                "insert into network_files values (?, ?, ?, ?)", (uuid, i, f, os.path.abspath(f))
            )

    def set_files(self, dep: Deployment, files: Sequence[str]) -> None:
        with self.transaction() as db:
            self._set_files(db, dep.uuid, files)

    def rename(self, dep: Deployment, name: str) -> None:
        _check_name(name)
        with self.transaction() as db:
            if db.execute("select 1 from deployments where name = ?", (name,)).fetchone():
                raise DeploymentExists(f"a deployment named {name!r} exists already")
            db.execute("update deployments set name = ? where uuid = ?", (name, dep.uuid))

    def clone(self, dep: Deployment, name: str) -> Deployment:
        """A new deployment with the same files and attributes; machines start unknown."""
        new = self.create(name, [f.path for f in self.files(dep)])
        with self.transaction() as db:
            db.execute(
                "insert into deployment_attrs select ?, name, value from deployment_attrs "
                "where deployment = ?",
                (new.uuid, dep.uuid),
            )
        return new

    def delete(self, dep: Deployment) -> None:
        with self.transaction() as db:
            db.execute("delete from deployments where uuid = ?", (dep.uuid,))

    def deployments(self) -> list[Deployment]:
        rows = self.rows("select uuid, name, created from deployments order by name")
        return [Deployment(*r) for r in rows]

    def find(self, name: str | None) -> Deployment:
        """By name or uuid; None means the only deployment (an error if there are 0 or 2+)."""
        if name is None:
            all_ = self.deployments()
            if len(all_) == 1:
                return all_[0]
            names = ", ".join(d.name for d in all_) or "none exist yet"
            raise NoSuchDeployment(
                f"there are {len(all_)} deployments ({names}); name one with -d NAME"
                if all_
                else "no deployment exists yet; create one with `declos create -d NAME FILE...`"
            )
        found = self.rows(
            "select uuid, name, created from deployments where name = ? or uuid = ?", (name, name)
        )
        row = found[0] if found else None
        if row is None:
            known = ", ".join(d.name for d in self.deployments()) or "none"
            raise NoSuchDeployment(
                f"no deployment named {name!r} (known: {known}); "
                f"create it with `declos create -d {name} FILE...`"
            )
        return Deployment(*row)

    def files(self, dep: Deployment) -> list[NetworkFile]:
        rows = self.rows(
            "select path, absolute from network_files where deployment = ? order by position",
            (dep.uuid,),
        )
        return [NetworkFile(*r) for r in rows]

    def set_attr(self, dep: Deployment, name: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "insert or replace into deployment_attrs values (?, ?, ?)",
                (dep.uuid, name, json.dumps(value)),
            )

    def attrs(self, dep: Deployment) -> dict[str, Any]:
        rows = self.rows(
            "select name, value from deployment_attrs where deployment = ?", (dep.uuid,)
        )
        return {n: json.loads(v) for n, v in rows}

    # -- machines -------------------------------------------------------------------

    def machine_id(self, dep: Deployment, name: str) -> int:
        with self.transaction() as db:
            row = db.execute(
                "select id from machines where deployment = ? and name = ?", (dep.uuid, name)
            ).fetchone()
            if row:
                return int(row[0])
            cur = db.execute(
                "insert into machines (deployment, name) values (?, ?)", (dep.uuid, name)
            )
            return int(cur.lastrowid or 0)

    def update_machine(self, dep: Deployment, name: str, **attrs: Any) -> None:
        """Set several attributes of one machine at once (one transaction)."""
        mid = self.machine_id(dep, name)
        with self.transaction() as db:  # one batch: one round trip on PostgreSQL
            db.executemany(
                "insert or replace into machine_attrs values (?, ?, ?)",
                [(mid, key, json.dumps(value)) for key, value in attrs.items()],
            )

    def machines(self, dep: Deployment) -> dict[str, dict[str, Any]]:
        """Every machine the state knows, with its attributes."""
        out: dict[str, dict[str, Any]] = {}
        for (name,) in self.rows(
            "select name from machines where deployment = ? order by name", (dep.uuid,)
        ):
            out[name] = {}
        rows = self.rows(
            "select m.name, a.name, a.value from machines m join machine_attrs a "
            "on a.machine = m.id where m.deployment = ?",
            (dep.uuid,),
        )
        for machine, key, value in rows:
            out[machine][key] = json.loads(value)
        return out

    def forget_machines(self, dep: Deployment, keep: Sequence[str]) -> list[str]:
        """Drop machines no longer in the network; returns their names."""
        gone = [m for m in self.machines(dep) if m not in keep]
        with self.transaction() as db:
            for m in gone:
                db.execute("delete from machines where deployment = ? and name = ?", (dep.uuid, m))
        return gone

    def log_deploy(
        self,
        dep: Deployment,
        machine: str,
        started: float,
        outcome: str,
        toplevel: str | None,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "insert into deploy_log (deployment, machine, started, finished, outcome, toplevel)"
                " values (?, ?, ?, ?, ?, ?)",
                (dep.uuid, machine, started, time.time(), outcome, toplevel),
            )

    # -- host keys --------------------------------------------------------------------

    def host_keys(self, dep: Deployment, host: str, port: int) -> list[HostKey]:
        rows = self.rows(
            "select host, port, key_type, key_base64, learnt from host_keys "
            "where deployment = ? and host = ? and port = ?",
            (dep.uuid, host, port),
        )
        return [HostKey(*r) for r in rows]

    def learn_host_key(
        self, dep: Deployment, host: str, port: int, key_type: str, b64: str
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "insert or replace into host_keys values (?, ?, ?, ?, ?, ?)",
                (dep.uuid, host, port, key_type, b64, time.time()),
            )

    def forget_host_keys(self, dep: Deployment, host: str, port: int) -> int:
        with self.transaction() as db:
            cur = db.execute(
                "delete from host_keys where deployment = ? and host = ? and port = ?",
                (dep.uuid, host, port),
            )
            return cur.rowcount


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _check_name(name: str) -> None:
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("-"):
        raise StateError(f"invalid deployment name {name!r}: use letters, digits, '-', '_' and '.'")


def _create_private(path: Path) -> None:
    """Make the directory (0700 when new) and the file (0600) before SQLite opens it."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
    except OSError as exc:
        raise StateError(
            f"cannot open the state file {path}: {exc.strerror}; "
            "set DECLOS_STATE to a writable location"
        ) from None
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, 0o600)
