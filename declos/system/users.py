"""`users.users` / `users.groups` -> the system.json "users" object the activator applies.

Defaults follow NixOS users-groups.nix adapted to Debian paths: normal users get
/home/NAME, createHome and bash; system users /var/empty (here: /nonexistent, Debian's
convention) and nologin. The NixOS assertions about isSystemUser/isNormalUser and a
system user's group are checked here so a bad config fails before anything is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from declos.system.errors import RenderError


class UsersError(RenderError):
    """A user or group definition NixOS would reject; the message names the option."""


def _user(name: str, u: Mapping[str, Any]) -> dict[str, Any]:
    normal = bool(u.get("isNormalUser", False))
    system = bool(u.get("isSystemUser", False))
    where = f"users.users.{name}"
    if normal == system:
        raise UsersError(
            f"Exactly one of {where}.isSystemUser and {where}.isNormalUser must be set.",
            ("users", "users", name),
        )
    group = u.get("group") or ("users" if normal else "")
    if not group:
        raise UsersError(
            f"{where}.group is unset. This used to default to nogroup, but this is unsafe. "
            f"For example you can create a group for this user with: "
            f'users.users.{name}.group = "{name}"; users.groups.{name} = {{}};',
            ("users", "users", name),
        )
    keys = list(((u.get("openssh") or {}).get("authorizedKeys") or {}).get("keys") or [])
    home = u.get("home") or (f"/home/{name}" if normal else "/nonexistent")
    create_home = u.get("createHome")
    shell = u.get("shell")
    uid = u.get("uid")
    return {
        "isSystemUser": system,
        "isNormalUser": normal,
        "uid": int(uid) if uid is not None else None,
        "group": str(group),
        "extraGroups": list(dict.fromkeys(str(g) for g in u.get("extraGroups") or [])),
        "description": str(u.get("description") or ""),
        "home": str(home),
        "createHome": bool(normal if create_home is None else create_home),
        "shell": str(shell) if shell else ("/bin/bash" if normal else "/usr/sbin/nologin"),
        "hashedPassword": u.get("hashedPassword"),
        "authorizedKeys": [str(k) for k in keys],
    }


def render_users(users: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's {"users": {...}, "groups": {...}}; disabled users (`enable = false`) left out."""
    out_users = {
        name: _user(name, definition or {})
        for name, definition in sorted((users.get("users") or {}).items())
        if (definition or {}).get("enable", True)
    }
    groups: dict[str, Any] = {}
    for name, definition in sorted((users.get("groups") or {}).items()):
        definition = definition or {}
        gid = definition.get("gid")
        groups[name] = {
            "gid": int(gid) if gid is not None else None,
            "members": list(dict.fromkeys(str(m) for m in definition.get("members") or [])),
        }
    for name, user in out_users.items():
        for extra in user["extraGroups"]:
            if extra in groups and name not in groups[extra]["members"]:
                groups[extra]["members"].append(name)
    return {"users": out_users, "groups": groups}


def authorized_keys(users: Mapping[str, Any]) -> dict[str, list[str]]:
    """name -> keys for every user that has some (for /etc/ssh/authorized_keys.d/NAME)."""
    return {name: u["authorizedKeys"] for name, u in users["users"].items() if u["authorizedKeys"]}
