"""Store operations: adding, validity, builds, sandbox, references, crash safety, locking."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from declos.store import BuildError, Derivation, Store, StoreError
from declos.store.nar import dump_bytes
from declos.store.sandbox import build_env

PY = sys.executable


def test_paths_use_logical_dir_and_live_under_root(store: Store, tmp_path: Path) -> None:
    p = store.add_text("hello", "hi\n")
    assert p.startswith("/declos/store/") and p.endswith("-hello")
    assert store.real_path(p) == tmp_path / "root" / p.lstrip("/")
    assert store.real_path(p).read_text() == "hi\n"
    st = os.lstat(store.real_path(p))
    assert (st.st_mode & 0o7777, int(st.st_mtime)) == (0o444, 1)


def test_add_path_is_idempotent_and_canonical(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "bin").mkdir(parents=True)
    (src / "bin" / "tool").write_text("#!/bin/sh\n")
    (src / "bin" / "tool").chmod(0o751)
    (src / "data").write_text("x")
    (src / "data").chmod(0o640)
    (src / "ln").symlink_to("data")
    p = store.add_path(src)
    before = os.lstat(store.real_path(p)).st_ino
    assert store.add_path(src) == p
    assert os.lstat(store.real_path(p)).st_ino == before  # nothing rewritten
    real = store.real_path(p)
    modes = {n: os.lstat(real / n).st_mode & 0o7777 for n in ("bin", "bin/tool", "data")}
    assert modes == {"bin": 0o555, "bin/tool": 0o555, "data": 0o444}
    assert os.readlink(real / "ln") == "data"
    assert {int(os.lstat(real / n).st_mtime) for n in ("", "bin", "bin/tool", "data")} == {1}
    info = store.path_info(p)
    assert info.nar_hash == "sha256:" + hashlib.sha256(dump_bytes(src)).hexdigest()
    assert info.ca and info.ca.startswith("fixed:r:sha256:")


def test_add_path_scans_references(store: Store, tmp_path: Path) -> None:
    dep = store.add_text("dep", "x")
    other = store.add_text("other", "y")
    src = tmp_path / "s"
    src.mkdir()
    (src / "conf").write_text(f"uses {dep}/x\n")
    p = store.add_path(src, scan_references=[dep, other])
    assert store.references(p) == [dep]
    assert store.closure([p]) == [dep, p]
    assert store.referrers(dep) == [p]


def test_bad_names_and_missing_refs_are_clear_errors(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"forbidden character\(s\) ' '"):
        store.add_text("has space", "x")
    with pytest.raises(StoreError, match="not allowed"):
        store.add_text(".-x", "x")
    with pytest.raises(StoreError, match="reference\\(s\\) not valid"):
        store.add_text("x", "y", references=["/declos/store/" + "a" * 32 + "-gone"])
    with pytest.raises(StoreError, match="no such file"):
        store.add_path(tmp_path / "nope")


def test_realise_builds_in_dependency_order_and_is_a_noop_after(store: Store) -> None:
    a = Derivation("a", "/bin/bash", ["-c", "echo A > $out"], {"PATH": "/usr/bin:/bin"})
    b = Derivation("b", "/bin/bash", ["-c", "echo B > $out"], {"PATH": "/usr/bin:/bin"})
    c = Derivation(
        "c",
        "/bin/bash",
        ["-c", f"mkdir $out; cat {a} {b} > $out/ab; ln -s {a} $out/a"],
        {"PATH": "/usr/bin:/bin"},
        input_drvs=[a, b],
    )
    assert store.realise(c) == [c.out_path]
    assert store.real_path(c.out_path + "/ab").read_text() == "A\nB\n"
    info = store.path_info(c.out_path)
    assert info.references == [a.out_path]  # b was read but is not mentioned in the output
    assert info.deriver == c.drv_path
    assert store.is_valid(c.drv_path)
    assert store.references(c.drv_path) == sorted([a.drv_path, b.drv_path])
    assert store.db.derivation_outputs(c.drv_path) == {"out": c.out_path}
    registered = store.path_info(c.out_path).registration_time
    assert store.realise([c, a]) == [c.out_path, a.out_path]
    assert store.path_info(c.out_path).registration_time == registered
    assert store.load_derivation(c.drv_path).out_path == c.out_path


def test_sandbox_is_isolated(store: Store) -> None:
    script = (
        "echo pid=$$ > $out; echo home=$HOME >> $out; echo tmp=$TMPDIR >> $out; pwd >> $out;"
        "ls / | tr '\\n' ' ' >> $out; echo >> $out;"
        "cat /sys/class/net/*/operstate 2>/dev/null | tr '\\n' ' ' >> $out; ls /sys/class/net >> $out 2>&1 || true;"
        "env | sort | cut -d= -f1 | tr '\\n' ' ' >> $out"
    )
    d = Derivation("iso", "/bin/bash", ["-c", script], {"PATH": "/usr/bin:/bin"})
    store.realise(d)
    lines = store.real_path(d.out_path).read_text().splitlines()
    assert lines[0] == "pid=1"
    assert lines[1:4] == ["home=/homeless-shelter", "tmp=/build", "/build"]
    assert "home" not in lines[4].split() and "root" not in lines[4].split()
    env_names = set(lines[-1].split())
    assert "SSH_AUTH_SOCK" not in env_names and "USER" not in env_names
    assert {"NIX_STORE", "NIX_BUILD_TOP", "out", "name", "system", "builder"} <= env_names


def test_no_network_for_normal_builds_but_fixed_output_may(store: Store) -> None:
    probe = "ip -o link 2>/dev/null | grep -v ' lo:' | wc -l"
    d = Derivation(
        "net", "/bin/bash", ["-c", f"{probe} > $out"], {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    )
    store.realise(d)
    assert store.real_path(d.out_path).read_text().strip() == "0"
    host_links = int(subprocess.run(["bash", "-c", probe], capture_output=True, text=True).stdout)
    expected = hashlib.sha256(f"{host_links}\n".encode()).hexdigest()
    fod = Derivation(
        "net-fod",
        "/bin/bash",
        ["-c", f"{probe} > $out"],
        {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
        output_hash=expected,
        output_hash_algo="sha256",
    )
    store.realise(fod)
    assert store.real_path(fod.out_path).read_text().strip() == str(host_links)


def test_fixed_output_hash_is_verified(store: Store) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    fod = Derivation(
        "fod",
        "/bin/bash",
        ["-c", "echo -n data > $out"],
        output_hash=wrong,
        output_hash_algo="sha256",
    )
    with pytest.raises(
        BuildError,
        match=f"hash mismatch in fixed-output derivation.*\n  specified: sha256:{wrong}\n"
        f"  got:       sha256:{hashlib.sha256(b'data').hexdigest()}",
    ):
        store.realise(fod)
    assert not store.is_valid(fod.out_path)
    assert not store.real_path(fod.out_path).exists()


def test_failed_build_leaves_nothing_and_keeps_log(store: Store) -> None:
    d = Derivation("fails", "/bin/bash", ["-c", "echo partial > $out; echo oops >&2; exit 3"])
    with pytest.raises(BuildError, match=r"(?s)failed with exit code 3;.*\noops\n") as exc:
        store.realise(d)
    assert "full log:" in str(exc.value)
    assert not store.real_path(d.out_path).exists()
    assert not [n for n in os.listdir(store.physical_store) if n.startswith(".tmp-")]
    assert "oops" in Path(store.log_path(d.drv_path)).read_text()


def test_keep_failed_keeps_build_dir(store: Store) -> None:
    d = Derivation("fails2", "/bin/bash", ["-c", "echo scratch > /build/note; exit 1"])
    with pytest.raises(BuildError):
        store.realise(d, keep_failed=True)
    kept = Path(store.physical_state) / "failed"
    [k] = list(kept.iterdir())
    assert (k / "root" / "build" / "note").read_text() == "scratch\n"
    assert f"build directory kept at {k}" in Path(store.log_path(d.drv_path)).read_text()


def test_missing_output_is_an_error(store: Store) -> None:
    d = Derivation("noout", "/bin/bash", ["-c", "true"])
    with pytest.raises(BuildError, match="failed to produce output 'out'"):
        store.realise(d)


def test_unknown_builtin_is_reported(store: Store) -> None:
    d = Derivation("x", "builtin:nope", [])
    with pytest.raises(BuildError, match="unknown builtin builder 'builtin:nope'"):
        store.realise(d)


def _child(code: str, root: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen([PY, "-c", code, str(root)], env=env, stdout=subprocess.PIPE, text=True)


def test_kill_9_mid_add_never_leaves_a_valid_half_path(tmp_path: Path) -> None:
    src = tmp_path / "big"
    src.mkdir()
    for i in range(40):
        (src / f"f{i}").write_bytes(os.urandom(1 << 20))
    root = tmp_path / "root"
    code = "import sys; from declos.store import Store; print(Store.open(sys.argv[1]).add_path(sys.argv[1] + '/../big'), flush=True)"
    proc = _child(code, root)
    store_dir = root / "declos" / "store"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tmps = list(store_dir.glob(".tmp-*/item/*")) if store_dir.exists() else []
        if len(tmps) >= 3:
            break
        time.sleep(0.005)
    else:
        pytest.fail("the adding process never started copying")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store.open(root)
    assert store.all_paths() == []
    assert [n.name for n in store_dir.iterdir() if not n.name.startswith(".tmp-")] == []
    path = store.add_path(src)  # the next operation cleans the half path and succeeds
    assert [n.name for n in store_dir.iterdir()] == [os.path.basename(path)]
    assert store.path_info(path).nar_hash == "sha256:" + hashlib.sha256(dump_bytes(src)).hexdigest()


def test_kill_9_mid_build_leaves_no_valid_output(tmp_path: Path) -> None:
    root = tmp_path / "root"
    code = (
        "import sys; from declos.store import Store, Derivation\n"
        "d = Derivation('slow', '/bin/bash', ['-c', 'echo half > $out; sleep 60'], {'PATH': '/usr/bin:/bin'})\n"
        "print(d.out_path, flush=True); Store.open(sys.argv[1]).realise(d)\n"
    )
    proc = _child(code, root)
    out_path = proc.stdout.readline().strip()
    deadline = time.monotonic() + 30
    while not list((root / "declos" / "store").glob(f".tmp-*/root{out_path}")):
        assert time.monotonic() < deadline, "build never started"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store.open(root)
    assert not store.is_valid(out_path)
    assert not store.real_path(out_path).exists()
    d = Derivation("slow", "/bin/bash", ["-c", "echo whole > $out"])
    assert d.out_path != out_path  # different builder, different path; the old one stays invalid
    store.cleanup_half_paths(force=True)
    assert not list((root / "declos" / "store").glob(".tmp-*"))


def test_concurrent_builds_of_the_same_output_wait_instead_of_racing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    code = (
        "import sys; from declos.store import Store, Derivation\n"
        "d = Derivation('shared', '/bin/bash', ['-c', 'sleep 0.5; echo $RANDOM$RANDOM > $out'], {'PATH': '/usr/bin:/bin'})\n"
        "built = []\n"
        "Store.open(sys.argv[1]).realise(d, progress=lambda what, drv: built.append(drv))\n"
        "print('built' if built else 'waited', flush=True)\n"
    )
    Store.open(root)  # create the database once, before both processes race
    procs = [_child(code, root) for _ in range(2)]
    results = sorted(p.communicate()[0].strip() for p in procs)
    assert results == ["built", "waited"]
    assert all(p.returncode == 0 for p in procs)


def test_builder_sees_inputs_that_are_symlinks_or_files(store: Store, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to("/etc/hostname-does-not-matter")
    lp = store.add_path(link)
    tp = store.add_text("t", "text input")
    d = Derivation(
        "uses",
        "/bin/bash",
        ["-c", f"readlink {lp} > $out; cat {tp} >> $out"],
        {"PATH": "/usr/bin:/bin"},
        input_srcs=[lp, tp],
    )
    store.realise(d)
    assert store.real_path(d.out_path).read_text() == "/etc/hostname-does-not-matter\ntext input"
    assert store.references(d.out_path) == []  # contents mention no store path


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry))
    return found


def test_builder_dies_with_a_killed_declos(tmp_path: Path) -> None:
    """The sandbox gets PR_SET_PDEATHSIG from setpriv (no preexec_fn in a threaded process)."""
    marker = f"{time.time_ns() % 10**6}.123"
    code = (
        "import sys; from declos.store import Store, Derivation\n"
        f"d = Derivation('orphan', '/bin/bash', ['-c', 'sleep {marker}'], {{'PATH': '/usr/bin:/bin'}})\n"
        "Store.open(sys.argv[1]).realise(d)\n"
    )
    proc = _child(code, tmp_path / "root")
    deadline = time.monotonic() + 60
    while not _processes_with(f"sleep\0{marker}"):
        assert time.monotonic() < deadline, "the builder never started"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while _processes_with(f"sleep\0{marker}"):
        assert time.monotonic() < deadline, "the builder outlived declos"
        time.sleep(0.05)


def test_builders_get_every_core_and_the_derivation_env_wins() -> None:
    """NIX_BUILD_CORES is impure (not in the derivation), so it may use the whole machine."""
    env = build_env({"x": "1"}, "/declos/store")
    assert env["NIX_BUILD_CORES"] == str(os.cpu_count() or 1)
    assert build_env({}, "/declos/store", cores=3)["NIX_BUILD_CORES"] == "3"
    assert build_env({"NIX_BUILD_CORES": "7"}, "/declos/store")["NIX_BUILD_CORES"] == "7"
    assert (env["x"], env["NIX_STORE"], env["HOME"]) == ("1", "/declos/store", "/homeless-shelter")
