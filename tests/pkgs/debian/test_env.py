"""User profiles (`declos env`): generations, attribute installs, collisions, rollback."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from declos.pkgs import Pkgs
from declos.pkgs.user_env import EnvError, UserEnvironment
from declos.store import Store


def _set(store: Store, text: str) -> SimpleNamespace:
    p = Pkgs(store)
    return SimpleNamespace(
        hello=p.write_shell_script_bin("hello", f"echo {text}"),
        other=p.write_shell_script_bin("hello", "echo other"),
        tool=p.write_shell_script_bin("tool", "echo tool"),
    )


def _bin(store: Store, env: UserEnvironment, name: str) -> str:
    current = env.profiles.current("profile")
    assert current is not None
    return os.readlink(store.real_path(f"{current}/bin/{name}"))


def test_install_erase_rollback_switch_delete(store: Store) -> None:
    env = UserEnvironment(store, "alice")
    pkgs = _set(store, "one")
    assert env.install(pkgs, ["hello", "tool"]) == 1
    assert [e.attr for e in env.elements()] == ["hello", "tool"]
    assert _bin(store, env, "hello") == f"{pkgs.hello}/bin/hello"
    assert env.erase(["tool"]) == 2
    assert not os.path.lexists(store.real_path(f"{env.profiles.current('profile')}/bin/tool"))
    assert env.rollback() == 1
    assert _bin(store, env, "tool") == f"{pkgs.tool}/bin/tool"
    assert env.switch(2) and [e.attr for e in env.elements()] == ["hello"]
    with pytest.raises(EnvError, match="not installed: nope"):
        env.erase(["nope"])
    assert env.delete_generations(["1"]) == [1]
    assert [g.number for g in env.generations()] == [2]


def test_upgrade_follows_the_attribute_not_the_name(store: Store) -> None:
    env = UserEnvironment(store, "bob")
    env.install(_set(store, "one"), ["hello"])
    newer = _set(store, "two")
    gen, changed = env.upgrade(newer)
    assert gen == 2 and changed == ["hello -> hello"]
    assert _bin(store, env, "hello") == f"{newer.hello}/bin/hello"
    assert env.upgrade(newer) == (None, [])


def test_collision_names_both_packages_and_the_fix(store: Store) -> None:
    env = UserEnvironment(store, "carol")
    pkgs = _set(store, "one")
    env.install(pkgs, ["hello"])
    with pytest.raises(EnvError) as err:
        env.install(pkgs, ["other"])
    msg = str(err.value)
    assert f"'{pkgs.hello}/bin/hello' (from hello)" in msg
    assert f"'{pkgs.other}/bin/hello' (from other)" in msg
    assert "declos env -i --priority N other" in msg
    assert env.install(pkgs, ["other"], priority=1) == 2
    assert _bin(store, env, "hello") == f"{pkgs.other}/bin/hello"


def test_missing_attribute_and_bad_user(store: Store) -> None:
    env = UserEnvironment(store, "dave")
    with pytest.raises(EnvError, match="attribute 'nope' does not exist"):
        env.install(_set(store, "x"), ["nope"])
    with pytest.raises(EnvError, match="invalid user name"):
        UserEnvironment(store, "../root")
