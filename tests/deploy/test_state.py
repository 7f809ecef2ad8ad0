"""The deployment state: file mode, WAL, schema version, locks naming their holder,
stale-lock takeover after kill -9, host keys, export/import."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from declos.deploy import lock as lockmod
from declos.deploy.errors import DeploymentExists, LockHeld, NoSuchDeployment, StateError
from declos.deploy.manage import export, import_
from declos.deploy.state import SCHEMA_VERSION, State


@pytest.fixture
def state(tmp_path: Path) -> State:
    s = State(tmp_path / "dir" / "deployments.db")
    yield s
    s.close()


def test_file_is_private_wal_and_versioned(state: State, tmp_path: Path) -> None:
    mode = stat.S_IMODE(os.stat(tmp_path / "dir" / "deployments.db").st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "dir").st_mode) == 0o700
    assert state.rows("pragma journal_mode")[0][0] == "wal"
    assert state.schema_version() == SCHEMA_VERSION == 1


def test_default_path_follows_declos_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECLOS_STATE", str(tmp_path / "x.db"))
    with State() as s:
        assert s.path == tmp_path / "x.db"
    assert (tmp_path / "x.db").exists()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    State(path).close()
    db = sqlite3.connect(path)
    db.execute("update schema_version set version = 7")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="schema version 7, newer than this declos understands"):
        State(path)


def test_create_find_rename_clone_delete(state: State) -> None:
    dep = state.create("web", ["net.yaml", "/abs/phys.yaml"])
    assert state.find(None) == dep
    assert state.find(dep.uuid) == dep
    files = state.files(dep)
    assert [f.path for f in files] == ["net.yaml", "/abs/phys.yaml"]
    assert files[0].absolute == os.path.abspath("net.yaml")
    with pytest.raises(DeploymentExists, match="a deployment named 'web' exists already"):
        state.create("web", ["x.yaml"])
    copy = state.clone(dep, "web2")
    with pytest.raises(NoSuchDeployment, match="there are 2 deployments \\(web, web2\\)"):
        state.find(None)
    state.rename(copy, "staging")
    assert [d.name for d in state.deployments()] == ["staging", "web"]
    state.delete(dep)
    with pytest.raises(NoSuchDeployment, match="no deployment named 'web' \\(known: staging\\)"):
        state.find("web")


def test_bad_name(state: State) -> None:
    with pytest.raises(StateError, match="invalid deployment name 'a b'"):
        state.create("a b", ["x"])


def test_relative_file_falls_back_to_where_it_was(state: State, tmp_path: Path) -> None:
    dep = state.create("d", ["does-not-exist-here.yaml"])
    f = state.files(dep)[0]
    assert f.resolve() == os.path.abspath("does-not-exist-here.yaml")


def test_machine_attrs_and_host_keys(state: State) -> None:
    dep = state.create("d", ["n.yaml"])
    state.update_machine(dep, "web", status="up", port=2222, toplevel="/declos/store/x")
    state.update_machine(dep, "web", status="failed")
    assert state.machines(dep) == {
        "web": {"status": "failed", "port": 2222, "toplevel": "/declos/store/x"}
    }
    state.learn_host_key(dep, "127.0.0.1", 2222, "ssh-ed25519", "AAAA")
    assert [k.key_base64 for k in state.host_keys(dep, "127.0.0.1", 2222)] == ["AAAA"]
    assert state.host_keys(dep, "127.0.0.1", 22) == []
    assert state.forget_host_keys(dep, "127.0.0.1", 2222) == 1


def test_lock_names_its_holder(state: State) -> None:
    dep = state.create("d", ["n.yaml"])
    other = lockmod.Holder("elsewhere", 4242, "1", time.time(), "declos deploy")
    assert lockmod.try_acquire(state, dep, other) is None
    with pytest.raises(LockHeld) as err:
        with lockmod.deployment_lock(state, dep, "declos deploy", timeout=0.3):
            pass
    assert "deployment 'd' is locked by pid 4242 on elsewhere (`declos deploy`, since" in str(
        err.value
    )


HOLD = textwrap.dedent(
    """
    import sys, time
    from declos.deploy.state import State
    from declos.deploy.lock import deployment_lock
    s = State(sys.argv[1])
    with deployment_lock(s, s.find("d"), "declos deploy"):
        print("held", flush=True)
        time.sleep(60)
    """
)


def test_stale_lock_of_a_killed_process_is_taken_over(
    state: State, capfd: pytest.CaptureFixture[str]
) -> None:
    dep = state.create("d", ["n.yaml"])
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state.path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    with pytest.raises(LockHeld, match=f"locked by pid {proc.pid} on "):
        with lockmod.deployment_lock(state, dep, "declos deploy"):
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with lockmod.deployment_lock(state, dep, "declos deploy") as me:
        assert lockmod.holder(state, dep) == me
    assert lockmod.holder(state, dep) is None
    assert f"taking over the stale lock of pid {proc.pid}" in capfd.readouterr().err


def test_export_import_round_trip(state: State, tmp_path: Path) -> None:
    dep = state.create("d", ["n.yaml"])
    state.update_machine(dep, "web", status="up")
    state.learn_host_key(dep, "h", 22, "ssh-ed25519", "AAAA")
    without = export(state, [dep], include_keys=False)
    assert "hostKeys" not in without["deployments"][dep.uuid]
    data = export(state, [dep], include_keys=True)
    with State(tmp_path / "other.db") as other:
        assert import_(other, data, include_keys=True) == ["d"]
        copy = other.find("d")
        assert copy.uuid == dep.uuid
        assert other.machines(copy) == {"web": {"status": "up"}}
        assert [k.key_base64 for k in other.host_keys(copy, "h", 22)] == ["AAAA"]
        assert export(other, [copy], include_keys=True) == data
        with pytest.raises(StateError, match="deployment 'd' .* exists already"):
            import_(other, data, include_keys=False)
    with pytest.raises(StateError, match="not a declos export"):
        import_(state, {"version": 99}, include_keys=False)
