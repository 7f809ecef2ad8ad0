"""The evaluation cache (declos.deploy.evalcache): what counts as an input, and when a
record is reused. The end-to-end no-op through it is in test_fleet.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from declos.deploy import evalcache
from declos.deploy.state import State
from declos.deploy.targets import target_of


def test_recorder_sees_reads_and_listings_not_writes_or_ignored_roots(tmp_path: Path) -> None:
    read, listed, written = tmp_path / "read.yaml", tmp_path / "dir", tmp_path / "out"
    read.write_text("a: 1\n")
    listed.mkdir()
    (listed / "x").write_text("")
    ignored = tmp_path / "store"
    ignored.mkdir()
    (ignored / "inside").write_text("")
    with evalcache.InputRecorder([ignored]) as rec:
        read.read_text()
        os.listdir(listed)
        written.write_text("new")
        (ignored / "inside").read_text()
    read.read_text()  # after close: not recorded
    (tmp_path / "late").write_text("")
    stamps = rec.stamps()
    assert sorted(stamps) == [str(listed), str(read)]
    assert stamps[str(read)].startswith("f:") and stamps[str(listed)].startswith("d:")
    assert rec.impure is None


def test_stamps_follow_content_listing_and_existence(tmp_path: Path) -> None:
    f, d = tmp_path / "f", tmp_path / "d"
    f.write_text("one")
    d.mkdir()
    first = (evalcache.stamp(str(f)), evalcache.stamp(str(d)))
    os.utime(f, (0, 0))  # mtime alone is not a change
    assert (evalcache.stamp(str(f)), evalcache.stamp(str(d))) == first
    f.write_text("two")
    (d / "new").write_text("")
    second = (evalcache.stamp(str(f)), evalcache.stamp(str(d)))
    assert second[0] != first[0] and second[1] != first[1]
    assert evalcache.stamp(str(tmp_path / "missing")) == "-"


def test_a_process_started_while_evaluating_makes_it_impure(tmp_path: Path) -> None:
    with evalcache.InputRecorder([]) as rec:
        subprocess.run(["true"], check=True)
    assert rec.impure is not None and "subprocess.Popen" in rec.impure


def test_record_is_reused_only_while_every_input_and_the_key_are_unchanged(
    tmp_path: Path,
) -> None:
    net = tmp_path / "net.yaml"
    net.write_text("web: {}\n")
    state = State(tmp_path / "state.db")
    dep = state.create("d", [str(net)])
    key = evalcache.key_of(None, {"DECLOS_X": "1", "HOME": "/a"})
    assert key == evalcache.key_of(None, {"DECLOS_X": "1", "HOME": "/b"})
    assert key != evalcache.key_of(None, {"DECLOS_X": "2"})
    assert key != evalcache.key_of("/elsewhere", {"DECLOS_X": "1"})
    assert key != evalcache.key_of(None, {"DECLOS_X": "1"}, [str(net)])
    cache = evalcache.EvalCache(key, {str(net): evalcache.stamp(str(net))}, ["web"])
    target = target_of(
        "web",
        {
            "targetHost": "10.0.0.5",
            "targetPort": 2222,
            "tags": ["front"],
            "keys": {"k": {"text": "SECRET-TEXT", "keyCommand": ["print-KEYCMD-TOKEN"]}},
        },
    )
    cache.record("web", target, "/declos/store/abc-declos-system")
    evalcache.save(state, dep, cache)
    again = evalcache.load(state, dep, key)
    assert again is not None and again.toplevel("web") == "/declos/store/abc-declos-system"
    t = again.target("web")
    assert (t.host, t.port, t.tags, t.keys, t.health_checks) == (
        "10.0.0.5",
        2222,
        ("front",),
        (),
        (),
    )
    assert evalcache.load(state, dep, evalcache.key_of("/other", {})) is None
    net.write_text("web: {networking.hostName: w}\n")
    assert evalcache.load(state, dep, key) is None
    state.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert b"SECRET-TEXT" not in raw and b"KEYCMD-TOKEN" not in raw
