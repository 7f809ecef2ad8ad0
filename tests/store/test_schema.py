"""The schema copies stay equal; the read-only validity probe used by `declos store dump`."""

from __future__ import annotations

import os
from pathlib import Path

from declos.store import Store, receiver, schema


def test_receiver_carries_the_same_schema() -> None:
    # receiver.py is uploaded alone to targets, so it holds its own copy of the schema.
    assert receiver.SCHEMA == schema.SCHEMA


def test_is_valid_readonly(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "store"), str(tmp_path / "var"))
    path = store.add_text("hello", "hi\n")
    db = schema.db_file(store.physical_state)
    assert db == str(tmp_path / "var/db/db.sqlite")
    assert schema.is_valid_readonly(db, path) is True
    assert schema.is_valid_readonly(db, path[:-1] + "x") is False


def test_is_valid_readonly_creates_nothing(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere/db/db.sqlite")
    assert schema.is_valid_readonly(missing, "/nix/store/" + "a" * 32 + "-x") is False
    assert os.listdir(tmp_path) == []


def test_is_valid_readonly_odd_file_name(tmp_path: Path) -> None:
    # '?', '#' and '%' must reach SQLite as part of the file name, not as URI syntax.
    store = Store(str(tmp_path / "st?re"), str(tmp_path / "v#r%20"))
    path = store.add_text("hello", "hi\n")
    assert schema.is_valid_readonly(schema.db_file(store.physical_state), path) is True
