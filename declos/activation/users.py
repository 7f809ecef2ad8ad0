"""Declared users and groups: created, updated, and removed only if declos created them.

Ids are kept stable in STATE/activation/{uid,gid}-map.json (as NixOS's uid-map): a
user removed and declared again gets its old uid back, so files it owned stay its own.
Allocation follows NixOS: system users and all groups count down from 999 to 400,
normal users count up from 1000. An existing account's id is never changed.
SSH keys are not handled here: the closure delivers them as /etc entries
(ssh/authorized_keys.d/NAME).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from declos.activation import faults
from declos.activation.accounts_db import AccountDb
from declos.activation.paths import Host
from declos.common.atomic import read_json, write_json


def _alloc(used: set[int], reserved: set[int], lo: int, hi: int, down: bool) -> int:
    rng = range(hi, lo - 1, -1) if down else range(lo, hi + 1)
    for i in rng:
        if i not in used and i not in reserved:
            return i
    raise RuntimeError(f"no free id between {lo} and {hi}")


def _stable_id(
    name: str, id_map: dict[str, int], used: set[int], lo: int, hi: int, down: bool
) -> int:
    """The id `name` had before if it is still free, else a new one no other name ever had."""
    prev = id_map.get(name)
    if prev is not None and prev not in used:
        return prev
    reserved = {v for k, v in id_map.items() if k != name}
    return _alloc(used, reserved, lo, hi, down)


class UsersManager:
    def __init__(self, host: Host) -> None:
        self.host = host
        d = host.activation_state
        self.uid_map_path: Path = d / "uid-map.json"
        self.gid_map_path: Path = d / "gid-map.json"
        self.accounts_path: Path = d / "accounts.json"

    def apply(
        self, users: dict[str, dict[str, Any]], groups: dict[str, dict[str, Any]], dry: bool
    ) -> tuple[list[str], AccountDb]:
        """Bring the account databases in line; returns the change lines and the new db."""
        db = AccountDb(self.host.etc)
        uid_map: dict[str, int] = read_json(self.uid_map_path, {})
        gid_map: dict[str, int] = read_json(self.gid_map_path, {})
        acc = read_json(self.accounts_path, {})
        created_users: set[str] = set(acc.get("users", []))
        created_groups: set[str] = set(acc.get("groups", []))
        memberships: dict[str, list[str]] = acc.get("memberships", {})
        lines: list[str] = []

        groups = dict(groups)
        for uname, u in users.items():
            g = u.get("group") or ("users" if u.get("isNormalUser") else uname)
            if g not in groups and (db.row("group", g) is None or g in created_groups):
                groups[g] = {"gid": None, "members": []}

        for gname in sorted(groups):
            spec = groups[gname]
            row = db.row("group", gname)
            if row is not None:
                if spec.get("gid") is not None and int(row[2]) != spec["gid"]:
                    lines.append(
                        f"warning: not applying GID change of group {gname} ({row[2]} -> {spec['gid']})"
                    )
                gid_map[gname] = int(row[2])
                continue
            gid = spec.get("gid")
            if gid is None:
                gid = _stable_id(gname, gid_map, db.used_gids(), 400, 999, down=True)
            db.tables["group"].append([gname, "x", str(gid), ""])
            db.tables["gshadow"].append([gname, "!", "", ""])
            gid_map[gname] = gid
            created_groups.add(gname)
            lines.append(f"create group {gname} (gid {gid})")

        for uname in sorted(users):
            u = users[uname]
            normal = bool(u.get("isNormalUser"))
            gname = u.get("group") or ("users" if normal else uname)
            gid = db.gid(gname)
            home = u.get("home") or (f"/home/{uname}" if normal else "/nonexistent")
            shell = u.get("shell") or ("/bin/bash" if normal else "/usr/sbin/nologin")
            gecos = (u.get("description") or "").replace(":", " ")
            row = db.row("passwd", uname)
            if row is None:
                uid = u.get("uid")
                if uid is None:
                    lo, hi = (1000, 29999) if normal else (400, 999)
                    uid = _stable_id(uname, uid_map, db.used_uids(), lo, hi, down=not normal)
                db.tables["passwd"].append([uname, "x", str(uid), str(gid), gecos, home, shell])
                db.drop("shadow", uname)
                db.tables["shadow"].append(
                    [uname, u.get("hashedPassword") or "!", "", "", "", "", "", "", ""]
                )
                created_users.add(uname)
                revived = " (its previous uid)" if uid_map.get(uname) == uid else ""
                lines.append(f"create user {uname} (uid {uid}){revived}")
            else:
                uid = int(row[2])
                if u.get("uid") is not None and u["uid"] != uid:
                    lines.append(
                        f"warning: not applying UID change of user {uname} ({uid} -> {u['uid']})"
                    )
                new = [uname, row[1], row[2], str(gid), gecos, home, shell]
                if new != row:
                    what = [
                        n
                        for n, a, b in zip(
                            ("", "", "", "group", "description", "home", "shell"),
                            row,
                            new,
                            strict=True,
                        )
                        if a != b
                    ]
                    row[:] = new
                    lines.append(f"update user {uname} ({', '.join(what)})")
                if u.get("hashedPassword") is not None:
                    srow = db.row("shadow", uname)
                    if srow is None:
                        db.tables["shadow"].append(
                            [uname, u["hashedPassword"], "", "", "", "", "", "", ""]
                        )
                        lines.append(f"update user {uname} (password)")
                    elif srow[1] != u["hashedPassword"]:
                        srow[1] = u["hashedPassword"]
                        lines.append(f"update user {uname} (password)")
            uid_map[uname] = uid

        want_members: dict[str, set[str]] = {}
        for uname, u in users.items():
            for g in u.get("extraGroups") or []:
                want_members.setdefault(g, set()).add(uname)
        for gname, spec in groups.items():
            for m in spec.get("members") or []:
                want_members.setdefault(gname, set()).add(m)
        new_memberships: dict[str, list[str]] = {}
        for gname in sorted(set(want_members) | set(memberships)):
            row = db.row("group", gname)
            if row is None:
                if want_members.get(gname):
                    raise KeyError(
                        f"group {gname!r} (in extraGroups or members) does not exist; declare it in users.groups"
                    )
                continue
            members = [m for m in row[3].split(",") if m]
            for m in sorted(want_members.get(gname, set())):
                if m not in members:
                    members.append(m)
                    lines.append(f"add user {m} to group {gname}")
            for m in memberships.get(gname, []):
                if m not in want_members.get(gname, set()) and m in members:
                    members.remove(m)
                    lines.append(f"remove user {m} from group {gname}")
            row[3] = ",".join(members)
            grow = db.row("gshadow", gname)
            if grow is not None:
                grow[3] = row[3]
            added = sorted(want_members.get(gname, set()))
            if added:
                new_memberships[gname] = added

        for uname in sorted(created_users - set(users)):
            if db.row("passwd", uname) is not None:
                db.drop("passwd", uname)
                db.drop("shadow", uname)
                for table in ("group", "gshadow"):
                    for r in db.tables[table]:
                        r[3] = ",".join(m for m in r[3].split(",") if m and m != uname)
                lines.append(f"remove user {uname}")
            created_users.discard(uname)
        for gname in sorted(created_groups - set(groups)):
            if db.row("group", gname) is not None:
                gid = int(db.row("group", gname)[2])  # type: ignore[index]
                if any(r[3] == str(gid) for r in db.tables["passwd"]):
                    lines.append(f"warning: keeping group {gname}: it is still a primary group")
                    continue
                db.drop("group", gname)
                db.drop("gshadow", gname)
                lines.append(f"remove group {gname}")
            created_groups.discard(gname)

        if dry:
            return lines, db
        write_json(
            self.accounts_path,
            {
                "users": sorted(created_users | set(acc.get("users", []))),
                "groups": sorted(created_groups | set(acc.get("groups", []))),
                "memberships": {**memberships, **new_memberships},
            },
        )
        write_json(self.uid_map_path, uid_map)
        write_json(self.gid_map_path, gid_map)
        faults.point("users")
        db.save()
        faults.point("users")
        self._homes(users, db)
        write_json(
            self.accounts_path,
            {
                "users": sorted(created_users),
                "groups": sorted(created_groups),
                "memberships": new_memberships,
            },
        )
        return lines, db

    def _homes(self, users: dict[str, dict[str, Any]], db: AccountDb) -> None:
        for n, u in sorted(users.items()):
            if not u.get("createHome", bool(u.get("isNormalUser"))):
                continue
            row = db.row("passwd", n)
            assert row is not None
            home = self.host.phys(row[5])
            if not home.exists():
                home.mkdir(parents=True, mode=0o700)
                if os.geteuid() == 0:
                    os.chown(home, int(row[2]), int(row[3]))
