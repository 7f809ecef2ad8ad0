"""`users.users` / `users.groups` -> the system.json "users" object the activator applies.

The values arrive merged and typed: defaults (home, shell, group, createHome) and
NixOS's assertions live in the users module (modules/config/users.py), not here. This
only reshapes them into the contract of docs/closure.md and adds each user to the
`members` of its declared `extraGroups`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from declos.system.errors import RenderError


class UsersError(RenderError):
    """A user or group definition the activator could not apply; the message names the option."""


def _user(u: Mapping[str, Any]) -> dict[str, Any]:
    uid = u["uid"]
    shell = u["shell"]
    return {
        "isSystemUser": bool(u["isSystemUser"]),
        "isNormalUser": bool(u["isNormalUser"]),
        "uid": int(uid) if uid is not None else None,
        "group": str(u["group"]),
        "extraGroups": list(dict.fromkeys(str(g) for g in u["extraGroups"])),
        "description": str(u["description"]),
        "home": str(u["home"]),
        "createHome": bool(u["createHome"]),
        "shell": str(shell) if shell is not None else "",
        "hashedPassword": u["hashedPassword"],
        "hashedPasswordFile": u["hashedPasswordFile"],
        "authorizedKeys": [str(k) for k in u["openssh"]["authorizedKeys"]["keys"]],
    }


def render_users(users: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's {"users": {...}, "groups": {...}}, keyed by each account's `name`
    (NixOS: the attribute name unless `name` is set); disabled users (`enable = false`)
    left out. Two accounts with one name or one id, and a uid/gid 0 other than root's,
    are refused here with the option that says so, as the activator would refuse them."""
    out_users: dict[str, Any] = {}
    user_attr: dict[str, str] = {}
    for attr, definition in sorted(users["users"].items()):
        if definition["enable"]:
            name = _claim(user_attr, str(definition["name"]), ("users", "users", attr))
            out_users[name] = _user(definition)
    groups: dict[str, Any] = {}
    group_attr: dict[str, str] = {}
    for attr, definition in sorted(users["groups"].items()):
        gid = definition["gid"]
        name = _claim(group_attr, str(definition["name"]), ("users", "groups", attr))
        groups[name] = {
            "gid": int(gid) if gid is not None else None,
            "members": list(dict.fromkeys(str(m) for m in definition["members"])),
        }
    _check_ids("users", "uid", [(user_attr[n], n, u["uid"]) for n, u in out_users.items()])
    _check_ids("groups", "gid", [(group_attr[n], n, g["gid"]) for n, g in groups.items()])
    for name, user in out_users.items():
        for extra in user["extraGroups"]:
            if extra in groups and name not in groups[extra]["members"]:
                groups[extra]["members"].append(name)
    return {"users": out_users, "groups": groups}


def _claim(seen: dict[str, str], name: str, path: tuple[str, ...]) -> str:
    """Record that attribute path[-1] makes the account `name`; refuse a second one."""
    if name in seen:
        kind = path[1]
        raise UsersError(
            f"users.{kind}.{path[2]}: the account name {name!r} is also the name of "
            f"users.{kind}.{seen[name]}; each account needs its own name",
            path,
        )
    seen[name] = path[2]
    return name


def _check_ids(kind: str, id_name: str, ids: list[tuple[str, str, int | None]]) -> None:
    """One account per id, and id 0 only for root (NixOS asserts unique ids too);
    `ids` holds (attribute name, account name, id)."""
    owner: dict[int, str] = {}
    for attr, name, number in sorted(ids):
        if number is None:
            continue
        path = ("users", kind, attr, id_name)
        if number == 0 and name != "root":
            raise UsersError(
                f"users.{kind}.{attr}.{id_name}: only root may have {id_name} 0 (a second "
                f"superuser account is refused); leave {id_name} null to pick a free one",
                path,
            )
        if number in owner:
            raise UsersError(
                f"users.{kind}.{attr}.{id_name}: {number} is already the {id_name} of "
                f"users.{kind}.{owner[number]}; give each its own {id_name}, or leave it null "
                "to pick a free one",
                path,
            )
        owner[number] = attr
