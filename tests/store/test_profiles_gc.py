"""Profiles/generations, GC roots and garbage collection, verify/repair, export/import."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from declos.store import Store, StoreError
from declos.store.export import export_paths, import_paths
from declos.store.gc import add_indirect_root, collect_garbage, find_roots
from declos.store.verify import verify


def test_generations_set_switch_rollback_delete(store: Store) -> None:
    p = store.profiles
    a, b, c = (store.add_text(n, n) for n in ("gen-a", "gen-b", "gen-c"))
    assert p.set("system", a) == 1
    assert p.set("system", a) == 1  # same path: no new generation
    assert p.set("system", b) == 2
    assert p.set("system", c) == 3
    link = Path(store.physical_state) / "profiles" / "system"
    assert os.readlink(link) == "system-3-link"
    assert os.readlink(str(link) + "-3-link") == c
    assert [(g.number, g.path, g.current) for g in p.generations("system")] == [
        (1, a, False),
        (2, b, False),
        (3, c, True),
    ]
    assert p.rollback("system") == 2
    assert p.current("system") == b
    assert p.switch_to("system", 3) == c
    with pytest.raises(StoreError, match=r"has no generation 7 \(generations: 1, 2, 3\)"):
        p.switch_to("system", 7)
    with pytest.raises(StoreError, match="it is the current one"):
        p.delete("system", [3])
    assert p.delete("system", [1]) == [1]
    assert [g.number for g in p.generations("system")] == [2, 3]
    assert p.set("system", a) == 4  # numbers keep increasing
    os.utime(str(link) + "-2-link", (time.time() - 40 * 86400,) * 2, follow_symlinks=False)
    assert p.delete("system", older_than=30 * 86400) == [2]
    p.switch_to("system", 3)
    with pytest.raises(StoreError, match="nothing to roll back to"):
        p.rollback("system")
    assert p.names() == ["system"]
    with pytest.raises(StoreError, match="not valid"):
        p.set("system", "/declos/store/" + "0" * 32 + "-missing")


def test_gc_keeps_everything_reachable_from_roots(store: Store, tmp_path: Path) -> None:
    dep = store.add_text("dep", "d")
    top = store.add_text("top", f"uses {dep}", [dep])
    in_profile = store.add_text("prof", "p")
    via_result = store.add_text("res", "r")
    garbage = store.add_text("garbage", "g")
    garbage_top = store.add_text("garbage-top", f"{garbage}", [garbage])
    store.add_root("top", top)
    store.profiles.set("system", in_profile)
    result_link = tmp_path / "result"
    result_link.symlink_to(via_result)
    add_indirect_root(store, str(result_link))
    roots = find_roots(store)
    assert set(roots.values()) == {top, in_profile, via_result}
    dry = collect_garbage(store, dry_run=True)
    assert dry.deleted == [garbage_top, garbage]  # referrers first
    assert store.is_valid(garbage)
    res = collect_garbage(store)
    assert res.deleted == [garbage_top, garbage]
    assert (
        res.bytes_freed == len(garbage) + 1
    )  # garbage-top holds garbage's path; garbage holds 'g'
    assert sorted(store.all_paths()) == sorted([dep, top, in_profile, via_result])
    assert not store.real_path(garbage).exists()
    result_link.unlink()  # a stale indirect root disappears and no longer protects
    assert collect_garbage(store).deleted == [via_result]
    assert not any("auto" in k for k in find_roots(store))


def test_gc_max_freed_stops_early(store: Store) -> None:
    for i in range(5):
        store.add_text(f"g{i}", "x" * 100)
    res = collect_garbage(store, max_freed=150)
    assert len(res.deleted) == 2 and len(store.all_paths()) == 3


def test_verify_detects_and_repairs_tampering(tmp_path: Path) -> None:
    good = Store.open(tmp_path / "good")
    bad = Store.open(tmp_path / "bad")
    src = tmp_path / "s"
    src.mkdir()
    (src / "f").write_text("original")
    p = good.add_path(src)
    q = good.add_text("gone", "bye")
    assert bad.add_path(src) == p and bad.add_text("gone", "bye") == q
    assert verify(bad, check_contents=True).ok
    f = bad.real_path(p + "/f")
    os.chmod(f, 0o644)
    f.write_text("tampered")
    os.chmod(bad.real_path(q), 0o644)
    os.unlink(bad.real_path(q))
    r = verify(bad)
    assert r.missing == [q] and r.corrupt == []  # without --check-contents only existence
    r = verify(bad, check_contents=True)
    assert [c[0] for c in r.corrupt] == [p] and r.missing == [q] and not r.ok
    r = verify(bad, check_contents=True, repair_from=good)
    assert sorted(r.repaired) == sorted([p, q]) and r.ok
    assert bad.real_path(p + "/f").read_text() == "original"
    assert verify(bad, check_contents=True).ok


def test_export_import_roundtrip(tmp_path: Path) -> None:
    a = Store.open(tmp_path / "a")
    dep = a.add_text("dep", "d")
    top = a.add_text("top", f"TOPCONTENT {dep}", [dep])
    buf = io.BytesIO()
    export_paths(a, a.closure([top]), buf.write)
    b = Store.open(tmp_path / "b")
    buf.seek(0)
    assert import_paths(b, buf) == [dep, top]
    assert b.path_info(top).references == [dep]
    assert b.path_info(top).nar_hash == a.path_info(top).nar_hash
    data = bytearray(buf.getvalue())
    idx = data.index(b"TOPCONTENT")
    data[idx : idx + 3] = b"BAD"
    c = Store.open(tmp_path / "c")
    with pytest.raises(StoreError, match=f"hash mismatch importing '{top}'"):
        import_paths(c, io.BytesIO(bytes(data)))
    assert c.all_paths() == [dep]  # dep arrived intact; top is absent, not half there
    assert [n for n in os.listdir(c.physical_store) if n.startswith(".tmp-")] == []
    with pytest.raises(StoreError, match="ended early"):
        import_paths(Store.open(tmp_path / "d"), io.BytesIO(buf.getvalue()[:-50]))


def test_gc_spares_paths_a_running_process_just_added(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = tmp_path / "root"
    store = Store.open(root)
    code = (
        "import sys, time; from declos.store import Store; "
        "print(Store.open(sys.argv[1]).add_text('fresh', 'f'), flush=True); sys.stdin.read()"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    fresh = child.stdout.readline().strip()
    assert collect_garbage(store).deleted == []  # temp root of a live process
    child.communicate("")
    assert collect_garbage(store).deleted == [fresh]


def test_gc_root_discovery_failure_stops_the_collection(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A root that cannot be read must abort the GC, never make its closure garbage."""
    from declos.store import gc as gc_mod

    kept = store.add_text("kept", "rooted")
    store.add_root("mine", kept)
    garbage = store.add_text("garbage", "unrooted")

    def broken(path: str, store_dir: str) -> tuple[str, str]:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(gc_mod, "split_store_path", broken)
    with pytest.raises(PermissionError):
        gc_mod.collect_garbage(store)
    assert store.is_valid(kept) and store.is_valid(garbage)  # nothing was deleted
    monkeypatch.undo()
    result = gc_mod.collect_garbage(store)
    assert result.deleted == [garbage] and store.is_valid(kept)


def test_roots_that_name_no_store_path_are_ignored(store: Store) -> None:
    kept = store.add_text("kept", "rooted")
    store.add_root("mine", kept)
    gcroots = store.real_path(store.state_dir + "/gcroots")
    os.symlink("/etc/hostname", gcroots / "not-a-store-path")
    os.symlink(store.store_dir + "/not-a-hash", gcroots / "malformed")
    assert collect_garbage(store).deleted == []
    assert set(find_roots(store).values()) == {kept}
