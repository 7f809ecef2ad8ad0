"""Users and groups in /etc/passwd, group, shadow, gshadow under --root."""

from __future__ import annotations

import json


def _passwd(rooted) -> dict[str, list[str]]:
    return {
        line.split(":")[0]: line.split(":")
        for line in rooted.p("/etc/passwd").read_text().splitlines()
    }


def _group(rooted) -> dict[str, list[str]]:
    return {
        line.split(":")[0]: line.split(":")
        for line in rooted.p("/etc/group").read_text().splitlines()
    }


def test_create_users_and_groups_with_nixos_id_allocation(rooted):
    top = rooted.make.system(
        users={
            "alice": {
                "isNormalUser": True,
                "description": "Alice",
                "extraGroups": ["wheel"],
                "hashedPassword": "$6$salt$hash",
                "authorizedKeys": ["ssh-ed25519 AAAA alice@x"],
            },
            "svc": {"isSystemUser": True, "group": "svc"},
        },
        groups={"wheel": {"gid": None, "members": []}, "svc": {"gid": None, "members": []}},
    )
    rc, out = rooted.run(top)
    assert rc == 0, out
    pw = _passwd(rooted)
    assert pw["alice"] == ["alice", "x", "1000", "100", "Alice", "/home/alice", "/bin/bash"]
    assert pw["svc"] == ["svc", "x", "999", "999", "", "/nonexistent", "/usr/sbin/nologin"]
    gr = _group(rooted)
    assert gr["svc"] == ["svc", "x", "999", ""]
    assert gr["wheel"] == ["wheel", "x", "998", "alice"]
    assert "alice:$6$salt$hash:::::::" in rooted.p("/etc/shadow").read_text().splitlines()
    assert "svc:!:::::::" in rooted.p("/etc/shadow").read_text().splitlines()
    assert rooted.p("/etc/gshadow").read_text().splitlines()[-2:] == ["svc:!::", "wheel:!::alice"]
    assert oct(rooted.p("/etc/shadow").stat().st_mode & 0o777) == "0o640"
    assert not rooted.p("/etc/ssh").exists(), "keys arrive as /etc entries from the closure"
    assert rooted.p("/home/alice").is_dir()
    for line in (
        "create group svc (gid 999)",
        "create group wheel (gid 998)",
        "create user alice (uid 1000)",
        "create user svc (uid 999)",
        "add user alice to group wheel",
    ):
        assert line in out.splitlines()


def test_only_users_declos_created_are_removed_and_uids_are_stable(rooted):
    a = rooted.make.system(
        users={
            "alice": {"isNormalUser": True},
            "bob": {"isNormalUser": True},
            "nobody": {
                "isSystemUser": True,
                "group": "nogroup",
                "home": "/nonexistent",
                "shell": "/usr/sbin/nologin",
                "description": "nobody",
            },
        }
    )
    assert rooted.run(a)[0] == 0
    assert _passwd(rooted)["bob"][2] == "1001"
    only_alice = rooted.make.system(users={"alice": {"isNormalUser": True}})
    rc, out = rooted.run(only_alice)
    assert rc == 0
    pw = _passwd(rooted)
    assert "bob" not in pw
    assert "nobody" in pw, "a user declos did not create is never removed"
    assert "remove user bob" in out.splitlines()
    # carol would take the lowest free uid (1001) if bob's were not reserved
    with_carol = rooted.make.system(
        users={"alice": {"isNormalUser": True}, "carol": {"isNormalUser": True}}
    )
    assert rooted.run(with_carol)[0] == 0
    assert _passwd(rooted)["carol"][2] == "1002"
    back = rooted.make.system(
        users={
            "alice": {"isNormalUser": True},
            "carol": {"isNormalUser": True},
            "bob": {"isNormalUser": True},
        }
    )
    rc, out = rooted.run(back)
    assert rc == 0
    assert _passwd(rooted)["bob"][2] == "1001"
    assert "create user bob (uid 1001) (its previous uid)" in out.splitlines()
    uid_map = json.loads(rooted.p("/declos/var/activation/uid-map.json").read_text())
    assert uid_map == {"alice": 1000, "bob": 1001, "carol": 1002, "nobody": 65534}


def test_existing_uid_is_never_changed(rooted):
    top = rooted.make.system(
        users={
            "nobody": {
                "isSystemUser": True,
                "uid": 4242,
                "group": "nogroup",
                "home": "/nonexistent",
                "shell": "/usr/sbin/nologin",
                "description": "nobody",
            }
        }
    )
    rc, out = rooted.run(top)
    assert rc == 0
    assert _passwd(rooted)["nobody"][2] == "65534"
    assert "warning: not applying UID change of user nobody (65534 -> 4242)" in out


def test_membership_removed_only_if_declos_added_it(rooted):
    grp = rooted.p("/etc/group")
    grp.write_text(grp.read_text() + "audio:x:29:root\n")
    a = rooted.make.system(users={"alice": {"isNormalUser": True, "extraGroups": ["audio"]}})
    assert rooted.run(a)[0] == 0
    assert _group(rooted)["audio"] == ["audio", "x", "29", "root,alice"]
    b = rooted.make.system(users={"alice": {"isNormalUser": True, "extraGroups": []}})
    rc, out = rooted.run(b)
    assert rc == 0
    assert _group(rooted)["audio"] == ["audio", "x", "29", "root"]
    assert "remove user alice from group audio" in out.splitlines()


def test_unknown_extra_group_is_a_clear_error_and_changes_nothing(rooted):
    top = rooted.make.system(users={"alice": {"isNormalUser": True, "extraGroups": ["nosuch"]}})
    before = rooted.p("/etc/passwd").read_text()
    rc, out = rooted.run(top)
    assert rc == 2
    assert (
        "group 'nosuch' (in extraGroups or members) does not exist; declare it in users.groups"
        in out
    )
    assert rooted.p("/etc/passwd").read_text() == before


def test_implied_primary_group_is_kept_and_second_switch_is_quiet(rooted):
    top = rooted.make.system(
        users={
            "svc": {"isSystemUser": True, "group": "svc"},
            "nobody": {
                "isSystemUser": True,
                "uid": 1,
                "group": "nogroup",
                "home": "/nonexistent",
                "shell": "/usr/sbin/nologin",
                "description": "nobody",
            },
        }
    )
    rc, out = rooted.run(top)
    assert rc == 0, out
    assert _group(rooted)["svc"] == ["svc", "x", "999", ""]
    rc, out = rooted.run(top)
    assert rc == 0
    assert out.splitlines() == [
        "warning: not applying UID change of user nobody (65534 -> 1)",
        f"no changes: {top} is already active",
    ]
    gone = rooted.make.system()
    assert rooted.run(gone)[0] == 0
    assert "svc" not in _group(rooted) and "svc" not in _passwd(rooted)


def test_plan_users_is_pure_and_refuses_a_taken_uid():
    """Planning works on named records and never changes its inputs."""
    import pytest

    from declos.activation.accounts_db import AccountDb
    from declos.activation.errors import UsersError
    from declos.activation.users import AccountState, plan_users
    from declos.common.closure_schema import parse_system_json

    texts = {
        "passwd": "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n",
        "group": "root:x:0:\nusers:x:100:\n",
        "shadow": "root:*:19000:0:99999:7:::\n",
        "gshadow": "root:*::\nusers:*::\n",
    }
    db = AccountDb.parse(texts)
    spec = parse_system_json(
        {"format": 1, "users": {"users": {"alice": {"isNormalUser": True}}}}, "s"
    )
    state = AccountState()
    plan = plan_users(spec.users, spec.groups, db, state)
    assert plan.lines == ("create user alice (uid 1000)",)
    assert plan.after.user("alice") is not None and db.user("alice") is None
    assert [db.render(t) for t in ("passwd", "group", "shadow", "gshadow")] == [
        texts[t] for t in ("passwd", "group", "shadow", "gshadow")
    ], "lines declos does not touch are written back byte for byte"
    assert plan.after.render("shadow").endswith("alice:!:::::::\n")
    assert plan.state.users == frozenset({"alice"}) and state.users == frozenset()
    taken = parse_system_json(
        {"format": 1, "users": {"users": {"alice": {"isNormalUser": True, "uid": 1}}}}, "s"
    )
    with pytest.raises(UsersError, match="uid 1 of alice is already used by daemon"):
        plan_users(taken.users, taken.groups, db, state)


HASH = "$6$pepper$c2VjcmV0LWhhc2gtbm90LWluLXRoZS1zdG9yZQ"


def test_hashed_password_file_is_read_on_the_target_and_wins(rooted):
    """NixOS's hashedPasswordFile: read at activation (inside the tree under --root),
    final newline dropped, preferred to hashedPassword; the closure holds only the path."""
    rooted.p("/run/keys").mkdir(parents=True)
    rooted.p("/run/keys/alice").write_text(HASH + "\n")
    top = rooted.make.system(
        users={
            "alice": {
                "isNormalUser": True,
                "hashedPassword": "$6$old$old",
                "hashedPasswordFile": "/run/keys/alice",
            }
        }
    )
    rc, out = rooted.run(top)
    assert rc == 0, out
    assert f"alice:{HASH}:::::::" in rooted.p("/etc/shadow").read_text().splitlines()
    assert HASH not in out
    rooted.p("/run/keys/alice").write_text("$6$new$new\n")
    rc, out = rooted.run(top)
    assert rc == 0, out
    assert "update user alice (password)" in out.splitlines()
    assert "alice:$6$new$new:::::::" in rooted.p("/etc/shadow").read_text().splitlines()


def test_a_missing_hashed_password_file_is_a_warning(rooted):
    top = rooted.make.system(
        users={"alice": {"isNormalUser": True, "hashedPasswordFile": "/run/keys/none"}}
    )
    rc, out = rooted.run(top)
    assert rc == 0, out
    assert (
        "warning: users.users.alice.hashedPasswordFile /run/keys/none does not exist;"
        " the password is left as it is" in out.splitlines()
    )
    assert "alice:!:::::::" in rooted.p("/etc/shadow").read_text().splitlines()


def test_a_bad_hashed_password_file_is_refused_before_any_change(rooted):
    rooted.p("/run/keys").mkdir(parents=True)
    rooted.p("/run/keys/alice").write_text("$6$a$b\nroot3::0:0:99999:7:::\n")
    top = rooted.make.system(
        users={"alice": {"isNormalUser": True, "hashedPasswordFile": "/run/keys/alice"}}
    )
    before = {f: rooted.p(f"/etc/{f}").read_text() for f in ("passwd", "shadow", "group")}
    rc, out = rooted.run(top)
    assert rc == 2, out  # the activator's exit code for accounts it cannot apply
    assert (
        "users.users.alice.hashedPasswordFile /run/keys/alice: the hash contains '\\n'; "
        "account fields may not contain ':', newlines or control characters; "
        "the file must hold one hash" in out
    )
    assert "root3" not in out and "$6$a$b" not in out, "the file's text is not echoed"
    assert {f: rooted.p(f"/etc/{f}").read_text() for f in before} == before


def test_with_password_files_refuses_an_empty_file():
    import pytest

    from declos.activation.errors import UsersError
    from declos.activation.users import with_password_files
    from declos.common.closure_schema import parse_system_json

    spec = parse_system_json(
        {
            "format": 1,
            "users": {"users": {"a": {"isNormalUser": True, "hashedPasswordFile": "/k"}}},
        },
        "s",
    )
    with pytest.raises(UsersError, match="the file is empty, which would allow a login"):
        with_password_files(spec.users, lambda path: "\n")
    users, warnings = with_password_files(spec.users, lambda path: "$6$x$y\n")
    assert users["a"].hashed_password == "$6$x$y" and warnings == []
