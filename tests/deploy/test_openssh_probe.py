"""The OpenSSH probe of cached no-op redeploys (declos.deploy.openssh) against a real sshd:
it trusts only the state's host keys, runs argv exactly, and a no-op redeploy's modules
never import paramiko (its import cost more CPU than the whole no-op)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from declos.deploy.openssh import OpenSSHProbe
from declos.deploy.state import Deployment, State
from declos.deploy.targets import MachineTarget
from declos.hosts.errors import HostUnreachable, UnknownHostKey

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "store"))
from sshd_server import Sshd  # noqa: E402

pytestmark = pytest.mark.sshd


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    s = State(tmp_path / "state.db")
    yield s
    s.close()


def target(sshd: Sshd) -> MachineTarget:
    return MachineTarget(
        name="web",
        target_env="none",
        host="127.0.0.1",
        port=sshd.port,
        user="root",
        key_file=str(sshd.client_key),
        tags=(),
        always_activate=False,
        magic_rollback=True,
        confirm_timeout=30,
        activation_timeout=600,
    )


def learn(state: State, dep: Deployment, sshd: Sshd, pub: Path) -> None:
    key_type, b64 = pub.read_text().split()[:2]
    state.learn_host_key(dep, "127.0.0.1", sshd.port, key_type, b64)


def test_runs_argv_exactly_with_the_learnt_key(sshd: Sshd, state: State) -> None:
    dep = state.create("net", [])
    learn(state, dep, sshd, Path(f"{sshd.host_key}.pub"))
    probe = OpenSSHProbe(state, dep, target(sshd))
    got = probe.run(["printf", "%s|", "a b", "c'd", "$HOME", ";"])
    assert (got.returncode, got.stdout, got.stderr) == (0, b"a b|c'd|$HOME|;|", b"")
    assert probe.run(["sh", "-c", "exit 7"]).returncode == 7
    known = probe.known_hosts
    assert Path(known).read_text().startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")
    probe.close()
    assert not os.path.exists(known)


def test_no_learnt_key_and_a_changed_key_are_host_errors(
    sshd: Sshd, state: State, tmp_path: Path
) -> None:
    dep = state.create("net", [])
    with pytest.raises(UnknownHostKey):
        OpenSSHProbe(state, dep, target(sshd))
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    learn(state, dep, sshd, Path(f"{other}.pub"))
    probe = OpenSSHProbe(state, dep, target(sshd))
    with pytest.raises(HostUnreachable, match="Host key verification failed"):
        probe.run(["true"])
    probe.close()


def test_the_no_op_path_imports_no_paramiko() -> None:
    code = (
        "import sys, declos.cli.main, declos.cli.deploy, declos.deploy.fleet, "
        "declos.deploy.openssh; print(sorted(m for m in sys.modules if m.split('.')[0] "
        "in ('paramiko', 'invoke') or m.startswith(('declos.config', 'declos.pkgs', "
        "'declos.system'))))"
    )
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert got.stdout == "[]\n"
