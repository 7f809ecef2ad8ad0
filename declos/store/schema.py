"""The layout of db.sqlite (Nix's src/libstore/schema.sql) and a read-only validity probe.

Kept apart from declos.store.db so that short-lived readers such as `declos store dump`
can ask "is this path valid?" with the stdlib sqlite3 alone: no dataclasses, no threads,
no schema migration, no directories created. declos/store/receiver.py, which is uploaded
to targets and must stay self-contained, carries an identical copy of SCHEMA
(tests/store/test_schema.py keeps the two equal).
"""

from __future__ import annotations

import os

try:  # the C core alone: the sqlite3 package adds ~2 ms (datetime adapters) a one-shot reader never uses
    from _sqlite3 import OperationalError, connect
except ImportError:  # an interpreter without the private module name
    from sqlite3 import OperationalError, connect

SCHEMA = """
create table if not exists ValidPaths (
    id               integer primary key autoincrement not null,
    path             text unique not null,
    hash             text not null,
    registrationTime integer not null,
    deriver          text,
    narSize          integer,
    ultimate         integer,
    sigs             text,
    ca               text
);
create table if not exists Refs (
    referrer  integer not null,
    reference integer not null,
    primary key (referrer, reference),
    foreign key (referrer) references ValidPaths(id) on delete cascade,
    foreign key (reference) references ValidPaths(id) on delete restrict
);
create index if not exists IndexReferrer on Refs(referrer);
create index if not exists IndexReference on Refs(reference);
create trigger if not exists DeleteSelfRefs before delete on ValidPaths
  begin
    delete from Refs where referrer = old.id and reference = old.id;
  end;
create table if not exists DerivationOutputs (
    drv  integer not null,
    id   text not null,
    path text not null,
    primary key (drv, id),
    foreign key (drv) references ValidPaths(id) on delete cascade
);
create index if not exists IndexDerivationOutputs on DerivationOutputs(path);
"""


def db_file(physical_state_dir: str) -> str:
    """Where a store keeps its database, given its physical state directory."""
    return physical_state_dir + "/db/db.sqlite"


def is_valid_readonly(db_path: str, path: str) -> bool:
    """Whether `path` has a ValidPaths row, opening the database read-only.

    A missing database or one without the table means an empty store: nothing is valid.
    """
    if not os.path.exists(db_path):
        return False
    uri = "file:" + db_path.replace("%", "%25").replace("?", "%3f").replace("#", "%23") + "?mode=ro"
    conn = connect(uri, uri=True, timeout=60, isolation_level=None)
    try:
        row = conn.execute("select 1 from ValidPaths where path = ?", (path,)).fetchone()
    except OperationalError as exc:
        if "no such table" in str(exc):
            return False
        raise
    finally:
        conn.close()
    return row is not None
