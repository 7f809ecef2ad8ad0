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
    """The contract's {"users": {...}, "groups": {...}}; disabled users (`enable = false`) left out."""
    out_users = {
        name: _user(definition)
        for name, definition in sorted(users["users"].items())
        if definition["enable"]
    }
    groups: dict[str, Any] = {}
    for name, definition in sorted(users["groups"].items()):
        gid = definition["gid"]
        groups[name] = {
            "gid": int(gid) if gid is not None else None,
            "members": list(dict.fromkeys(str(m) for m in definition["members"])),
        }
    for name, user in out_users.items():
        for extra in user["extraGroups"]:
            if extra in groups and name not in groups[extra]["members"]:
                groups[extra]["members"].append(name)
    return {"users": out_users, "groups": groups}
