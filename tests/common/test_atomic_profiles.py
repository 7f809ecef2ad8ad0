"""declos.common: atomic replacement, the one profile implementation, system.json schema."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest

from declos.common.atomic import atomic_symlink, atomic_write
from declos.common.closure_schema import SchemaError, parse_system_json
from declos.common.profiles import ProfileError, Profiles


def test_atomic_symlink_argument_order_is_ln_s(tmp_path: Path) -> None:
    link = tmp_path / "sub" / "link"
    atomic_symlink("target-a", link)
    atomic_symlink("target-b", link)
    assert os.readlink(link) == "target-b"
    assert sorted(os.listdir(tmp_path / "sub")) == ["link"], "no staging file left behind"


def test_atomic_write_sets_mode_and_replaces(tmp_path: Path) -> None:
    p = tmp_path / "f"
    atomic_write(p, "one", 0o600)
    atomic_write(p, b"two", 0o640)
    assert p.read_bytes() == b"two" and p.stat().st_mode & 0o777 == 0o640


def test_profiles_generations_and_rollback(tmp_path: Path) -> None:
    prof = Profiles(tmp_path / "profiles")
    assert prof.set("system", "/s/a") == 1
    assert prof.set("system", "/s/a") == 1
    assert prof.add("system", "/s/b") == (2, True)
    assert prof.current("system") == "/s/a", "add does not move the profile"
    assert prof.set_current("system", 2) == "/s/b"
    assert [(g.number, g.path, g.current) for g in prof.generations("system")] == [
        (1, "/s/a", False),
        (2, "/s/b", True),
    ]
    assert prof.rollback("system") == 1
    with pytest.raises(ProfileError, match="generation 1 is the oldest"):
        prof.rollback("system")
    with pytest.raises(ProfileError, match=r"has no generation 9 \(generations: 1, 2\)"):
        prof.set_current("system", 9)
    with pytest.raises(ProfileError, match="it is the current one"):
        prof.delete("system", [1])
    assert prof.delete("system", [2]) == [2]
    with pytest.raises(ProfileError, match="invalid profile name '../x'"):
        prof.set("../x", "/s/a")


def test_profile_changes_wait_for_the_profile_lock(tmp_path: Path) -> None:
    """One lock discipline: STATE/locks/profile-NAME.lock, held by store and activation."""
    prof = Profiles(tmp_path / "profiles")
    lock = tmp_path / "locks" / "profile-system.lock"
    lock.parent.mkdir()
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (prof.set("system", "/s/a"), done.set()))
    worker.start()
    assert not done.wait(0.3), "set() must wait while another process holds the lock"
    os.close(fd)
    worker.join(5)
    assert done.is_set() and prof.current("system") == "/s/a"


def _sj(**users: object) -> dict[str, object]:
    return {"format": 1, "users": {"users": users, "groups": {}}}


@pytest.mark.parametrize(
    ("user", "fragment"),
    [
        ({"isNormalUser": True, "hashedPassword": "x\nroot3::0:0:99999:7:::"}, "hashedPassword"),
        ({"isNormalUser": True, "description": "a:b"}, "description 'a:b' contains ':'"),
        ({"isNormalUser": True, "home": "/../../escaped"}, "home '/../../escaped' must be"),
        ({"isNormalUser": True, "shell": "/bin/sh\x1b"}, "shell"),
        ({"isNormalUser": True, "uid": 0}, "alice has uid 0; only root may have uid 0"),
    ],
)
def test_hostile_account_fields_are_refused(user: dict[str, object], fragment: str) -> None:
    with pytest.raises(SchemaError, match=None) as info:
        parse_system_json(_sj(alice=user), "TOP/system.json")
    assert fragment in str(info.value) and "TOP/system.json" in str(info.value)


def test_duplicate_uids_and_bad_names_are_refused() -> None:
    with pytest.raises(SchemaError, match="alice and bob both have uid 1500"):
        parse_system_json(
            _sj(alice={"isNormalUser": True, "uid": 1500}, bob={"isNormalUser": True, "uid": 1500}),
            "s",
        )
    with pytest.raises(SchemaError, match="is not a valid account name"):
        parse_system_json(_sj(**{"a\nb": {"isNormalUser": True}}), "s")


def test_schema_round_trip() -> None:
    raw = {
        "format": 1,
        "hostname": "h",
        "etc": [{"target": "motd", "source": "/s/x", "mode": "0644"}],
        "users": {"users": {"alice": {"isNormalUser": True}}, "groups": {"g": {"gid": 500}}},
        "boot": {"isContainer": True},
    }
    parsed = parse_system_json(raw, "s")
    assert parsed.users["alice"].home == "/home/alice" and parsed.boot.is_container
    assert parse_system_json(parsed.to_json(), "s") == parsed
