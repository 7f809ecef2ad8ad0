"""The host layer against real parts: an OpenSSH server on 127.0.0.1 and this machine."""

from __future__ import annotations

import base64
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from declos.hosts import (
    AuthenticationFailed,
    CommandFailed,
    CommandTimeout,
    Host,
    HostKeyMismatch,
    HostKeyPolicy,
    HostUnreachable,
    InvalidCommand,
    LocalHost,
    MemoryKnownHosts,
    OpenSSHKnownHosts,
    SSHHost,
    UnknownHostKey,
    fingerprint,
)
from declos.store import Store

pytestmark = pytest.mark.sshd


def _ssh(sshd, **kw) -> SSHHost:  # type: ignore[no-untyped-def]
    kw.setdefault("known_hosts", OpenSSHKnownHosts(sshd.known_hosts))
    return SSHHost("127.0.0.1", sshd.port, key_file=sshd.client_key, **kw)


@pytest.fixture(params=["ssh", "local"])
def host(request: pytest.FixtureRequest, sshd) -> Iterator[Host]:  # type: ignore[no-untyped-def]
    h: Host = _ssh(sshd) if request.param == "ssh" else LocalHost()
    with h:
        yield h


def _served_key(sshd) -> paramiko.PKey:  # type: ignore[no-untyped-def]
    kind, data = Path(str(sshd.host_key) + ".pub").read_text().split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(data))


def test_run_returns_status_and_both_streams(host: Host) -> None:
    r = host.run(["sh", "-c", 'echo "out $1"; echo err >&2; exit 3', "sh", "a b;c"], check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, b"out a b;c\n", b"err\n")
    assert r.argv == ("sh", "-c", 'echo "out $1"; echo err >&2; exit 3', "sh", "a b;c")


def test_argv_is_never_a_shell_string(host: Host, tmp_path: Path) -> None:
    victim = tmp_path / "pwned"
    r = host.run(["echo", f"x; touch {victim}", "$(id)", "'q'"])
    assert r.stdout == f"x; touch {victim} $(id) 'q'\n".encode()
    assert not victim.exists()


def test_check_raises_command_failed_with_the_result(host: Host) -> None:
    with pytest.raises(CommandFailed) as info:
        host.run(["sh", "-c", "echo boom >&2; exit 7"])
    assert info.value.result.returncode == 7
    assert info.value.result.stderr == b"boom\n"
    assert "exited with 7" in str(info.value) and "boom" in str(info.value)


def test_input_and_env(host: Host) -> None:
    data = os.urandom(3 << 20)  # larger than any pipe or channel window
    r = host.run(["sha256sum"], input=data)
    import hashlib

    assert r.stdout.split()[0].decode() == hashlib.sha256(data).hexdigest()
    assert host.run(["sh", "-c", 'echo "$GREETING"'], env={"GREETING": "a b $x"}).stdout == (
        b"a b $x\n"
    )
    with pytest.raises(InvalidCommand, match="X; touch"):
        host.run(["true"], env={"X; touch /tmp/x": "1"})


def test_command_timeout(host: Host) -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimeout) as info:
        host.run(["sleep", "30"], timeout=0.5)
    assert time.monotonic() - started < 5
    assert info.value.timeout == 0.5 and info.value.argv == ("sleep", "30")
    assert host.run(["echo", "still usable"]).stdout == b"still usable\n"


def test_put_is_atomic_with_mode_and_owner(host: Host, tmp_path: Path) -> None:
    target = tmp_path / "conf"
    target.write_text("old\n")
    os.link(target, tmp_path / "old-inode")  # a reader holding the old file keeps it whole
    host.put(b"new\n", str(target), mode=0o640, owner="nobody", group="nogroup")
    st = target.stat()
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert (st.st_uid, st.st_gid) == (65534, 65534)
    assert (tmp_path / "old-inode").read_text() == "old\n"  # replaced by rename, not rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf", "old-inode"]
    assert host.get(str(target)) == b"new\n"


def test_put_failure_leaves_target_and_no_temp(host: Host, tmp_path: Path) -> None:
    target = tmp_path / "conf"
    target.write_text("keep\n")
    with pytest.raises(CommandFailed):
        host.put(b"x", str(target), owner="no-such-user-declos")
    assert target.read_text() == "keep\n"
    assert [p.name for p in tmp_path.iterdir()] == ["conf"]
    with pytest.raises(CommandFailed, match="No such file"):
        host.get(str(tmp_path / "missing"))


def test_copy_closure_to_and_back(host: Host, tmp_path: Path) -> None:
    src = Store.open(tmp_path / "src")
    a = src.add_text("a", "alpha")
    b = src.add_text("b", f"beta {a}", [a])
    dst_root = tmp_path / "dst"
    host.root = str(dst_root)
    seen: list[str] = []
    stats = host.copy_closure_to(src, [b], progress=seen.append)
    assert stats.sent == [a, b] == seen and stats.round_trips == 1
    assert Store.open(dst_root).path_info(b).references == [a]
    again = host.copy_closure_to(src, [b])
    assert again.sent == [] and again.already_present == 2
    back = Store.open(tmp_path / "back")
    pulled = host.copy_closure_from(back, [b])
    assert pulled.sent == [a, b] and back.read_text(b) == f"beta {a}"


def test_activate_runs_toplevel_activate_with_combined_output(sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    top = tmp_path / "top"
    top.mkdir()
    script = top / "activate"
    script.write_text('#!/bin/sh\necho "action $1 $2"\necho warn >&2\nexit 4\n')
    script.chmod(0o755)
    with _ssh(sshd) as h:
        outcome = h.activate(str(top), "switch", args=["--x"])
    assert outcome.exit_code == 4
    assert outcome.lines == ["action switch --x", "warn"]


def test_one_connection_is_reused(sshd) -> None:  # type: ignore[no-untyped-def]
    with _ssh(sshd) as h:
        first = h.run(["sh", "-c", 'echo "$SSH_CONNECTION"']).stdout
        second = h.run(["sh", "-c", 'echo "$SSH_CONNECTION"']).stdout
        assert first == second and first  # same client port: the same TCP connection
        h.reconnect()
        assert h.run(["sh", "-c", 'echo "$SSH_CONNECTION"']).stdout != first


def test_concurrent_commands_share_the_connection(sshd) -> None:  # type: ignore[no-untyped-def]
    with _ssh(sshd) as h:
        out: list[bytes] = []

        def work(i: int) -> None:
            out.append(h.run(["sh", "-c", f"sleep 0.3; echo {i}"]).stdout)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(out) == [b"0\n", b"1\n", b"2\n", b"3\n"]


def test_unknown_key_refused_by_type_under_strict(sshd) -> None:  # type: ignore[no-untyped-def]
    known = MemoryKnownHosts()
    h = _ssh(sshd, known_hosts=known)
    with pytest.raises(UnknownHostKey) as info:
        h.run(["true"])
    assert (info.value.host, info.value.port) == ("127.0.0.1", sshd.port)
    assert info.value.fingerprint == fingerprint(_served_key(sshd))
    assert known.lookup("127.0.0.1", sshd.port) == []


def test_accept_new_learns_once_then_checks(sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    known = MemoryKnownHosts()
    with _ssh(sshd, known_hosts=known, policy=HostKeyPolicy.ACCEPT_NEW) as h:
        h.run(["true"])
    learned = known.lookup("127.0.0.1", sshd.port)
    assert [k.asbytes() for k in learned] == [_served_key(sshd).asbytes()]
    # Strict from now on: the learned key is what a later connection is checked against.
    with _ssh(sshd, known_hosts=known) as h:
        assert h.run(["echo", "ok"]).stdout == b"ok\n"


def test_changed_key_is_a_mismatch_even_with_accept_new(sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    known = MemoryKnownHosts()
    impostor = paramiko.Ed25519Key.from_private_key_file(str(sshd.client_key))
    known.learn("127.0.0.1", sshd.port, impostor)
    h = _ssh(sshd, known_hosts=known, policy=HostKeyPolicy.ACCEPT_NEW)
    with pytest.raises(HostKeyMismatch) as info:
        h.run(["true"])
    assert info.value.expected_fingerprint == fingerprint(impostor)
    assert info.value.got_fingerprint == fingerprint(_served_key(sshd))
    assert len(known.lookup("127.0.0.1", sshd.port)) == 1


def test_openssh_known_hosts_hashed_entries(sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kh = tmp_path / "known_hosts"
    kh.write_text(sshd.known_hosts.read_text())
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(kh)], check=True, capture_output=True)
    assert "|1|" in kh.read_text()
    with _ssh(sshd, known_hosts=OpenSSHKnownHosts(kh)) as h:
        assert h.run(["echo", "hashed"]).stdout == b"hashed\n"


def test_wrong_client_key_is_authentication_failed(sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True
    )
    h = SSHHost(
        "127.0.0.1",
        sshd.port,
        key_file=tmp_path / "k",
        known_hosts=OpenSSHKnownHosts(sshd.known_hosts),
    )
    with pytest.raises(AuthenticationFailed) as info:
        h.run(["true"])
    assert info.value.user == "root"


def test_refused_port_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    h = SSHHost("127.0.0.1", port, key_file="/nonexistent", known_hosts=MemoryKnownHosts())
    with pytest.raises(HostUnreachable, match=f"127.0.0.1:{port}"):
        h.run(["true"])


def test_silent_server_times_out_at_connect() -> None:
    """A port that accepts TCP but never speaks SSH (a QEMU forward before the guest's sshd)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        h = SSHHost(
            "127.0.0.1",
            port,
            key_file="/nonexistent",
            known_hosts=MemoryKnownHosts(),
            connect_timeout=1.0,
        )
        started = time.monotonic()
        with pytest.raises(HostUnreachable):
            h.run(["true"])
        assert time.monotonic() - started < 8


def test_idle_stream_times_out(host: Host) -> None:
    chan = host.open_channel(["sleep", "30"], idle_timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(CommandTimeout):
            chan.recv(10)
        assert time.monotonic() - started < 5
    finally:
        chan.close()


def test_output_written_just_before_exit_is_never_lost(host: Host) -> None:
    """sshd may send exit-status before the output it still had buffered; run() must
    wait for EOF (CI once saw `cat: No such file ...` arrive as just `cat:`)."""
    line = "x" * 3000
    for _ in range(40):
        r = host.run(["sh", "-c", 'echo "$1"; echo "$1" >&2; exit 1', "sh", line], check=False)
        assert (r.returncode, r.text, r.stderr.decode()) == (1, line + "\n", line + "\n")
