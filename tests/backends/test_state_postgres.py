"""Deployment state in a real PostgreSQL server (Debian's `postgresql`), started here.

The server listens on a unix socket only (`listen_addresses=''`) in a private directory,
runs as the `postgres` user (PostgreSQL refuses root), and is stopped at the end. Checked:
the state's operations behave as on SQLite (upserts, cascades, float timestamps), the
CLI works against `DECLOS_STATE=postgresql://...`, `export` from SQLite and `import` into
PostgreSQL round-trip, the deployment lock excludes deployers in other processes (no two
ever hold it at once), and a holder on another machine blocks `declos deploy`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from declos.deploy.errors import DeploymentExists, LockHeld
from declos.deploy.lock import deployment_lock
from declos.deploy.state import State
from declos.deploy.state_postgres import redacted, translate
from declos.testing.plugin import run_declos
from declos.testing.postgres import PostgresServer


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster on a unix socket only (declos.testing.postgres)."""
    with PostgresServer() as pg:
        yield pg


_COUNTER = iter(range(1_000_000))


@pytest.fixture
def url(server: PostgresServer) -> str:
    """A fresh, empty database for one test."""
    return server.create_database(f"t{os.getpid()}_{next(_COUNTER)}")


def declos(
    tmp: Path, state: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_declos(tmp, *args, env={"DECLOS_STATE": state}, stdin=stdin)


def test_translation_of_the_sqlite_dialect() -> None:
    assert translate("insert or replace into locks values (?, ?, ?, ?, ?, ?)") == (
        "insert into locks values (%s, %s, %s, %s, %s, %s) on conflict (deployment) do update "
        "set holder = excluded.holder, pid = excluded.pid, start_time = excluded.start_time, "
        "since = excluded.since, command = excluded.command"
    )
    assert translate("insert into machines (deployment, name) values (?, ?)") == (
        "insert into machines (deployment, name) values (%s, %s) returning id"
    )
    assert translate(
        "create table t (id integer primary key autoincrement not null, at real not null)"
    ) == ("create table t (id bigserial primary key, at double precision not null)")
    assert (
        redacted("postgresql://alice:s3cret@db.example/declos")
        == "postgresql://alice:***@db.example/declos"
    )


def test_state_operations_on_postgres(url: str) -> None:
    with State(url) as state:
        assert state.schema_version() == 1
        dep = state.create("web", ["a.yaml", "b.yaml"])
        with pytest.raises(DeploymentExists, match="exists already"):
            state.create("web", [])
        assert state.find("web") == dep and state.find(dep.uuid) == dep
        assert [f.path for f in state.files(dep)] == ["a.yaml", "b.yaml"]
        state.set_attr(dep, "k", {"x": 1})
        state.set_attr(dep, "k", [1, 2])  # upsert
        assert state.attrs(dep) == {"k": [1, 2]}
        state.update_machine(dep, "m1", status="up", port=2222)
        state.update_machine(dep, "m1", status="failed")
        state.update_machine(dep, "m2", status="new")
        assert state.machine_id(dep, "m1") != state.machine_id(dep, "m2")
        assert state.machines(dep) == {
            "m1": {"status": "failed", "port": 2222},
            "m2": {"status": "new"},
        }
        state.learn_host_key(dep, "127.0.0.1", 2222, "ssh-ed25519", "AAAA1")
        state.learn_host_key(dep, "127.0.0.1", 2222, "ssh-ed25519", "AAAA2")
        (key,) = state.host_keys(dep, "127.0.0.1", 2222)
        assert key.key_base64 == "AAAA2" and abs(key.learnt - time.time()) < 60
        assert key.learnt != int(key.learnt)  # double precision, not PostgreSQL's 4-byte real
        assert state.forget_machines(dep, ["m2"]) == ["m1"]
        copy = state.clone(dep, "web2")
        assert state.attrs(copy) == {"k": [1, 2]}
        state.rename(copy, "web3")
        assert [d.name for d in state.deployments()] == ["web", "web3"]
        state.delete(dep)  # cascades to machines, attrs, keys
        assert state.forget_host_keys(dep, "127.0.0.1", 2222) == 0
        assert [d.name for d in state.deployments()] == ["web3"]
    with State(url) as again:  # reopening migrates nothing and keeps the data
        assert again.schema_version() == 1 and again.find("web3").name == "web3"


def test_unreachable_postgres_is_an_error_line(tmp_path: Path) -> None:
    r = declos(tmp_path, f"postgresql://alice:pw@/nodb?host={tmp_path}", "list")
    assert r.returncode == 1
    assert r.stderr.startswith(
        f"error: cannot connect to the state database postgresql://alice:***@/nodb?host={tmp_path}: "
    )
    assert ":pw@" not in r.stderr  # the password is never printed
    assert "Traceback" not in r.stderr


NETWORK = "web:\n  deployment.targetHost: 127.0.0.1\n  deployment.targetPort: 2201\ndb: {}\n"


def test_export_from_sqlite_import_into_postgres(tmp_path: Path, url: str) -> None:
    (tmp_path / "net.yaml").write_text(NETWORK)
    sqlite = str(tmp_path / "state.db")
    assert declos(tmp_path, sqlite, "create", "-d", "shop", "net.yaml").returncode == 0
    with State(sqlite) as state:
        dep = state.find("shop")
        state.update_machine(dep, "web", status="up", generation="system-3-link")
        state.learn_host_key(dep, "127.0.0.1", 2201, "ssh-ed25519", "AAAAC3Nza")
    exported = declos(tmp_path, sqlite, "export", "--all", "--include-keys")
    assert exported.returncode == 0, exported.stderr
    r = declos(tmp_path, url, "import", "--include-keys", stdin=exported.stdout)
    assert (r.returncode, r.stdout) == (0, "imported shop\n"), r.stderr
    again = declos(tmp_path, url, "export", "--all", "--include-keys")
    assert json.loads(again.stdout) == json.loads(exported.stdout)
    r = declos(tmp_path, url, "info", "-d", "shop", "--json")
    rows = {row["machine"]: row for row in json.loads(r.stdout)}
    assert (rows["web"]["status"], rows["web"]["generation"], rows["web"]["host"]) == (
        "up",
        "3",
        "127.0.0.1:2201",
    )
    r = declos(tmp_path, url, "import", "--include-keys", stdin=exported.stdout)
    assert r.returncode == 1 and "deployment 'shop'" in r.stderr and "exists already" in r.stderr


RACER = textwrap.dedent(
    """
    import os, sys, time
    from declos.deploy.state import State
    from declos.deploy.lock import deployment_lock
    url, log, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    state = State(url)
    dep = state.find("race")
    while time.time() < start:
        time.sleep(0.005)
    for _ in range(15):
        with deployment_lock(state, dep, "declos deploy", timeout=60):
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.write(fd, f"in {os.getpid()}\\n".encode())
            time.sleep(0.02)
            os.write(fd, f"out {os.getpid()}\\n".encode())
            os.close(fd)
    """
)


def test_two_deployers_never_hold_one_deployment_at_once(tmp_path: Path, url: str) -> None:
    with State(url) as state:
        state.create("race", [])
    log = tmp_path / "holders.log"
    start = str(time.time() + 2.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, url, str(log), start], stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    lines = log.read_text().split("\n")[:-1]
    assert len(lines) == 60
    for i in range(0, 60, 2):  # every "in" is followed by the same process's "out"
        assert lines[i].startswith("in ") and lines[i + 1] == "out " + lines[i][3:], lines[
            i : i + 2
        ]
    assert len({line.split()[1] for line in lines}) == 2


def test_a_holder_on_another_machine_blocks_deploy(tmp_path: Path, url: str) -> None:
    (tmp_path / "net.yaml").write_text(NETWORK)
    assert declos(tmp_path, url, "create", "-d", "shop", "net.yaml").returncode == 0
    with State(url) as state:
        dep = state.find("shop")
        with state.transaction() as db:
            db.execute(
                "insert into locks values (?, ?, ?, ?, ?, ?)",
                (dep.uuid, "laptop-b", 4242, "1234", 1764480000.0, "declos deploy"),
            )
        with pytest.raises(LockHeld, match="locked by pid 4242 on laptop-b"):
            with deployment_lock(state, dep, "declos deploy"):
                pass
    r = declos(tmp_path, url, "deploy", "-d", "shop", "--build-only")
    assert r.returncode == 1
    assert r.stderr.startswith(
        "error: deployment 'shop' is locked by pid 4242 on laptop-b (`declos deploy`, since 2025-11-30 05:20:00 UTC)"
    )
