"""Closure copy over a real sshd on 127.0.0.1 into a --root store on the target, through
the host layer (declos.hosts.SSHHost), as deploy and `declos store copy` do."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from declos.hosts import (
    HostKeyMismatch,
    HostKeyPolicy,
    InvalidCommand,
    OpenSSHKnownHosts,
    SSHHost,
    UnknownHostKey,
    ssh_host_from_url,
)
from declos.store import Store, StoreError
from declos.store import copy as copy_mod

pytestmark = pytest.mark.sshd


def _host(sshd, root: Path | None = None, **kw) -> SSHHost:  # type: ignore[no-untyped-def]
    kw.setdefault("known_hosts", OpenSSHKnownHosts(sshd.known_hosts))
    return SSHHost(
        "127.0.0.1",
        sshd.port,
        key_file=sshd.client_key,
        root=str(root) if root else None,
        **kw,
    )


def _closure(store: Store, n: int = 5) -> str:
    prev: list[str] = []
    for i in range(n):
        prev = [store.add_text(f"p{i}", f"layer {i} " + " ".join(prev) + "x" * 3000, prev)]
    return prev[0]


def test_copy_sends_missing_paths_then_nothing(sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = Store.open(tmp_path / "src")
    top = _closure(src)
    dst_root = tmp_path / "dst"
    host = _host(sshd, dst_root)
    r = host.copy_closure_to(src, [top])
    assert r.sent == src.closure([top]) and r.already_present == 0 and r.round_trips == 1
    assert r.receiver_uploaded
    dst = Store.open(dst_root)
    for p in src.closure([top]):
        assert dst.path_info(p).nar_hash == src.path_info(p).nar_hash
        assert dst.path_info(p).references == src.path_info(p).references
    receiver = [p for p in dst.all_paths() if p.endswith("-declos-receiver.py")]
    assert len(receiver) == 1
    again = host.copy_closure_to(src, [top])
    assert again.sent == [] and again.already_present == 5 and again.round_trips == 1
    assert not again.receiver_uploaded


def test_compressed_copy_and_partial_target(sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = Store.open(tmp_path / "src")
    top = _closure(src, 4)
    dst_root = tmp_path / "dst"
    first = src.closure([top])[:2]
    host = _host(sshd, dst_root)
    host.copy_closure_to(src, [first[-1]])
    r = host.copy_closure_to(src, [top], compress=True)
    assert r.sent == src.closure([top])[2:] and r.already_present == 2
    assert 0 < r.wire_bytes < r.nar_bytes  # zstd actually compressed the repetitive NARs


def test_interrupted_copy_resumes_with_only_the_missing(sshd, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    src = Store.open(tmp_path / "src")
    closure = []
    for i in range(6):
        d = tmp_path / f"in{i}"
        d.mkdir()
        (d / "blob").write_bytes(os.urandom(700_000) + str(closure).encode())
        closure.append(src.add_path(d, scan_references=closure))
    top = closure[-1]
    assert src.closure([top]) == closure
    dst_root = tmp_path / "dst"
    flushes = []
    real_flush = copy_mod._Batcher.flush

    def failing_flush(self) -> None:  # type: ignore[no-untyped-def]
        flushes.append(1)
        if len(flushes) == 4:  # the connection breaks in the middle of the 3rd NAR
            raise OSError("connection reset (simulated)")
        real_flush(self)

    monkeypatch.setattr(copy_mod._Batcher, "flush", failing_flush)
    host = _host(sshd, dst_root)
    with pytest.raises(StoreError, match=r"interrupted after \d of 6 paths: connection reset"):
        host.copy_closure_to(src, [top])
    monkeypatch.setattr(copy_mod._Batcher, "flush", real_flush)
    dst = Store.open(dst_root)
    have = [p for p in closure if dst.is_valid(p)]
    assert have == closure[: len(have)] and 1 <= len(have) < len(closure)
    for p in closure[len(have) :]:
        assert not dst.real_path(p).exists()
    r = host.copy_closure_to(src, [top])
    assert r.sent == closure[len(have) :] and r.already_present == len(have)
    assert all(dst.path_info(p).nar_hash == src.path_info(p).nar_hash for p in closure)
    assert not list((dst_root / "declos" / "store").glob(".tmp-*"))


def test_progress_callback_can_abort(sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = Store.open(tmp_path / "src")
    top = _closure(src, 3)

    def progress(path: str) -> None:
        raise KeyboardInterrupt

    host = _host(sshd, tmp_path / "d")
    with pytest.raises(KeyboardInterrupt):
        host.copy_closure_to(src, [top], progress=progress)
    r = host.copy_closure_to(src, [top])
    assert len(r.sent) + r.already_present == 3 and r.already_present >= 1


def test_copy_from_remote(sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    remote = Store.open(tmp_path / "remote")
    top = _closure(remote, 3)
    local = Store.open(tmp_path / "local")
    r = _host(sshd, tmp_path / "remote").copy_closure_from(local, [top])
    assert r.sent == remote.closure([top])
    assert local.path_info(top).nar_hash == remote.path_info(top).nar_hash


def test_unknown_host_key_is_refused_then_accept_new_records_it(sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = Store.open(tmp_path / "src")
    p = src.add_text("a", "b")
    kh = tmp_path / "known_hosts"
    with pytest.raises(UnknownHostKey) as unknown:
        _host(sshd, tmp_path / "d", known_hosts=OpenSSHKnownHosts(kh)).copy_closure_to(src, [p])
    assert unknown.value.port == sshd.port and unknown.value.fingerprint.startswith("SHA256:")
    assert not kh.exists()
    learner = _host(
        sshd, tmp_path / "d", known_hosts=OpenSSHKnownHosts(kh), policy=HostKeyPolicy.ACCEPT_NEW
    )
    learner.copy_closure_to(src, [p])
    learner.close()
    served = (sshd.host_key.parent / "host_ed25519.pub").read_text().split()
    assert kh.read_text() == f"[127.0.0.1]:{sshd.port} ssh-ed25519 {served[1]}\n"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True
    )
    other = (tmp_path / "other.pub").read_text().split()[1]
    kh.write_text(kh.read_text().replace(served[1], other))
    with pytest.raises(HostKeyMismatch) as mismatch:
        _host(
            sshd, tmp_path / "d", known_hosts=OpenSSHKnownHosts(kh), policy=HostKeyPolicy.ACCEPT_NEW
        ).copy_closure_to(src, [p])
    assert mismatch.value.expected_fingerprint != mismatch.value.got_fingerprint
    assert unknown.value.fingerprint == mismatch.value.got_fingerprint
    assert other in kh.read_text()  # a changed key is never learned


def test_receiver_runs_with_system_python(sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = Store.open(tmp_path / "src")
    p = src.add_text("sys-py", "x")
    r = _host(sshd, tmp_path / "d", python="/usr/bin/python3").copy_closure_to(src, [p])
    assert r.sent == [p]
    assert os.path.exists(tmp_path / "d" / p.lstrip("/"))


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(InvalidCommand, match="unsupported store URL 'file:///x'"):
        ssh_host_from_url("file:///x")


def test_ssh_config_alias_is_honoured(sshd, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        f"Host deploy-target\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n"
        f"  IdentityFile {sshd.client_key}\n  UserKnownHostsFile {sshd.known_hosts}\n"
    )
    monkeypatch.setenv("HOME", str(home))
    src = Store.open(tmp_path / "src")
    p = src.add_text("via-alias", "x")
    r = ssh_host_from_url(f"ssh://deploy-target?root={tmp_path / 'd'}").copy_closure_to(src, [p])
    assert r.sent == [p]
