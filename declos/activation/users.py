"""Declared users and groups: created, updated, and removed only if declos created them.

Planning is pure: `plan_users` takes the declared accounts, the account databases and
what declos recorded earlier, and returns a `UsersPlan` (the lines to print, the new
databases, the new records, the homes to create) without touching anything. `apply_users`
is the one place that writes: under /etc/.pwd.lock it re-reads the databases, plans
again on what it read, and writes, so nothing another tool changed in between is lost.

Ids are kept stable in STATE/activation/{uid,gid}-map.json (as NixOS's uid-map): a
user removed and declared again gets its old uid back, so files it owned stay its own.
Allocation follows NixOS: system users and all groups count down from 999 to 400,
normal users count up from 1000. An existing account's id is never changed. A declared
id another account already has is refused (two accounts sharing an id share all files).
SSH keys are not handled here: the closure delivers them as /etc entries
(ssh/authorized_keys.d/NAME).

`hashedPasswordFile` (NixOS) is read here, on the target, each time the accounts are
planned: the hash never enters the store, the closure names only the file. Under --root
the file is the tree's (resolved inside it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from declos.activation import accounts_db, faults
from declos.activation.accounts_db import AccountDb, GroupEntry, PasswdEntry, ShadowEntry
from declos.activation.errors import UsersError
from declos.activation.paths import Host
from declos.common.atomic import read_json, write_json
from declos.common.closure_schema import GroupSpec, SchemaError, UserSpec, check_account_field
from declos.common.safepath import PathEscape

SYSTEM_IDS = (400, 999)
NORMAL_UIDS = (1000, 29999)


@dataclass(frozen=True)
class AccountState:
    """What declos recorded about accounts (STATE/activation/*.json)."""

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    memberships: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    uid_map: Mapping[str, int] = field(default_factory=dict)
    gid_map: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, directory: Path) -> AccountState:
        acc = _mapping(read_json(directory / "accounts.json", {}))
        members = _mapping(acc.get("memberships"))
        return cls(
            users=frozenset(_strings(acc.get("users"))),
            groups=frozenset(_strings(acc.get("groups"))),
            memberships={str(g): tuple(_strings(ms)) for g, ms in members.items()},
            uid_map=_id_map(read_json(directory / "uid-map.json", {})),
            gid_map=_id_map(read_json(directory / "gid-map.json", {})),
        )

    def accounts_json(self) -> dict[str, object]:
        return {
            "users": sorted(self.users),
            "groups": sorted(self.groups),
            "memberships": {g: list(ms) for g, ms in sorted(self.memberships.items())},
        }


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _id_map(value: object) -> dict[str, int]:
    return {str(k): v for k, v in _mapping(value).items() if isinstance(v, int)}


@dataclass(frozen=True)
class HomeDir:
    path: str
    uid: int
    gid: int


@dataclass(frozen=True)
class UsersPlan:
    lines: tuple[str, ...]
    before: AccountDb
    after: AccountDb
    state: AccountState  # after a completed apply
    widened: AccountState  # written first: old and new records, for a run killed half way
    homes: tuple[HomeDir, ...]

    @property
    def changes(self) -> tuple[str, ...]:
        return tuple(line for line in self.lines if not line.startswith("warning:"))


def _alloc(used: set[int], reserved: set[int], lo: int, hi: int, down: bool) -> int:
    rng = range(hi, lo - 1, -1) if down else range(lo, hi + 1)
    for i in rng:
        if i not in used and i not in reserved:
            return i
    raise UsersError(f"no free id between {lo} and {hi}")


def stable_id(
    name: str, id_map: Mapping[str, int], used: set[int], lo: int, hi: int, down: bool
) -> int:
    """The id `name` had before if it is still free, else a new one no other name ever had."""
    prev = id_map.get(name)
    if prev is not None and prev not in used:
        return prev
    reserved = {v for k, v in id_map.items() if k != name}
    return _alloc(used, reserved, lo, hi, down)


def implied_groups(
    users: Mapping[str, UserSpec],
    groups: Mapping[str, GroupSpec],
    db: AccountDb,
    created: frozenset[str],
) -> dict[str, GroupSpec]:
    """Declared groups plus users' primary groups that must exist (NixOS creates them)."""
    out = dict(groups)
    for u in users.values():
        if u.group not in out and (db.group_entry(u.group) is None or u.group in created):
            out[u.group] = GroupSpec(u.group, None)
    return out


def plan_groups(
    groups: Mapping[str, GroupSpec], db: AccountDb, gid_map: dict[str, int], created: set[str]
) -> list[str]:
    """Create missing groups in `db` (a working copy); never change an existing gid."""
    lines = []
    for name in sorted(groups):
        spec = groups[name]
        row = db.group_entry(name)
        if row is not None:
            if spec.gid is not None and row.gid != str(spec.gid):
                lines.append(
                    f"warning: not applying GID change of group {name} ({row.gid} -> {spec.gid})"
                )
            if row.gid.isdigit():
                gid_map[name] = int(row.gid)
            continue
        gid = spec.gid
        if gid is None:
            gid = stable_id(name, gid_map, db.used_gids(), *SYSTEM_IDS, down=True)
        else:
            _refuse_taken("gid", gid, name, {r.name for r in db.group if r.gid == str(gid)})
        db.put_group(GroupEntry(name, "x", str(gid), ()))
        gid_map[name] = gid
        created.add(name)
        lines.append(f"create group {name} (gid {gid})")
    return lines


def _refuse_taken(kind: str, num: int, name: str, holders: set[str]) -> None:
    others = sorted(holders - {name})
    if others:
        raise UsersError(
            f"{kind} {num} of {name} is already used by {', '.join(others)};"
            f" choose another {kind} or remove the {kind} to have one allocated"
        )


def _new_user(u: UserSpec, gid: int, db: AccountDb, uid_map: dict[str, int]) -> tuple[int, str]:
    uid = u.uid
    if uid is None:
        lo, hi = NORMAL_UIDS if u.is_normal_user else SYSTEM_IDS
        uid = stable_id(u.name, uid_map, db.used_uids(), lo, hi, down=not u.is_normal_user)
    else:
        _refuse_taken("uid", uid, u.name, {r.name for r in db.passwd if r.uid == str(uid)})
    db.put_user(PasswdEntry(u.name, "x", str(uid), str(gid), u.description, u.home, u.shell))
    db.put_shadow(ShadowEntry(u.name, u.hashed_password or "!"))
    revived = " (its previous uid)" if uid_map.get(u.name) == uid else ""
    return uid, f"create user {u.name} (uid {uid}){revived}"


def _update_user(u: UserSpec, gid: int, row: PasswdEntry, db: AccountDb) -> list[str]:
    lines = []
    if u.uid is not None and row.uid != str(u.uid):
        lines.append(f"warning: not applying UID change of user {u.name} ({row.uid} -> {u.uid})")
    new = replace(row, gid=str(gid), gecos=u.description, home=u.home, shell=u.shell)
    if new != row:
        what = [
            label
            for label, a, b in (
                ("group", row.gid, new.gid),
                ("description", row.gecos, new.gecos),
                ("home", row.home, new.home),
                ("shell", row.shell, new.shell),
            )
            if a != b
        ]
        db.put_user(new)
        lines.append(f"update user {u.name} ({', '.join(what)})")
    if u.hashed_password is not None:
        srow = db.shadow_entry(u.name)
        if srow is None or srow.password != u.hashed_password:
            base = srow or ShadowEntry(u.name, "")
            db.put_shadow(replace(base, password=u.hashed_password))
            lines.append(f"update user {u.name} (password)")
    return lines


def plan_user_rows(
    users: Mapping[str, UserSpec], db: AccountDb, uid_map: dict[str, int], created: set[str]
) -> list[str]:
    """Create or update every declared user in `db` (a working copy)."""
    lines = []
    for name in sorted(users):
        u = users[name]
        gid = db.gid(u.group)
        row = db.user(name)
        if row is None:
            uid, line = _new_user(u, gid, db, uid_map)
            created.add(name)
            lines.append(line)
        else:
            uid = int(row.uid) if row.uid.isdigit() else -1
            lines += _update_user(u, gid, row, db)
        if uid >= 0:
            uid_map[name] = uid
    return lines


def plan_memberships(
    users: Mapping[str, UserSpec],
    groups: Mapping[str, GroupSpec],
    db: AccountDb,
    recorded: Mapping[str, tuple[str, ...]],
) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """Add declared supplementary members; remove only members declos added before."""
    want: dict[str, set[str]] = {}
    for u in users.values():
        for extra in u.extra_groups:
            want.setdefault(extra, set()).add(u.name)
    for spec in groups.values():
        for m in spec.members:
            want.setdefault(spec.name, set()).add(m)
    lines: list[str] = []
    now: dict[str, tuple[str, ...]] = {}
    for name in sorted(set(want) | set(recorded)):
        row = db.group_entry(name)
        wanted = want.get(name, set())
        if row is None:
            if wanted:
                raise UsersError(
                    f"group {name!r} (in extraGroups or members) does not exist;"
                    " declare it in users.groups"
                )
            continue
        members = list(row.members)
        for m in sorted(wanted - set(members)):
            members.append(m)
            lines.append(f"add user {m} to group {name}")
        for m in recorded.get(name, ()):
            if m not in wanted and m in members:
                members.remove(m)
                lines.append(f"remove user {m} from group {name}")
        db.put_group(replace(row, members=tuple(members)))
        if wanted:
            now[name] = tuple(sorted(wanted))
    return lines, now


def plan_removals(
    users: Mapping[str, UserSpec],
    groups: Mapping[str, GroupSpec],
    db: AccountDb,
    created_users: set[str],
    created_groups: set[str],
) -> list[str]:
    """Remove accounts declos created that are no longer declared."""
    lines = []
    for name in sorted(created_users - set(users)):
        if db.user(name) is not None:
            db.drop_user(name)
            lines.append(f"remove user {name}")
        created_users.discard(name)
    for name in sorted(created_groups - set(groups)):
        row = db.group_entry(name)
        if row is not None:
            if any(r.gid == row.gid for r in db.passwd):
                lines.append(f"warning: keeping group {name}: it is still a primary group")
                continue
            db.drop_group(name)
            lines.append(f"remove group {name}")
        created_groups.discard(name)
    return lines


def with_password_files(
    users: Mapping[str, UserSpec], read: Callable[[str], str | None]
) -> tuple[dict[str, UserSpec], list[str]]:
    """Users whose `hashedPasswordFile` was read into their hash, and warnings.

    As NixOS's update-users-groups.pl: the file's text without its final newline is the
    hash and takes precedence over `hashedPassword`; a missing file (`read` returns None)
    is a warning and the password stays as it would be without the file. Unlike NixOS an
    empty file is refused: it would allow a login without any password."""
    out: dict[str, UserSpec] = {}
    warnings: list[str] = []
    for name, u in users.items():
        path = u.hashed_password_file
        text = read(path) if path is not None else None
        if path is None:
            out[name] = u
        elif text is None:
            warnings.append(
                f"warning: users.users.{name}.hashedPasswordFile {path} does not exist;"
                " the password is left as it is"
            )
            out[name] = u
        else:
            out[name] = replace(u, hashed_password=_password_hash(name, path, text))
    return out, warnings


def _password_hash(name: str, path: str, text: str) -> str:
    what = f"users.users.{name}.hashedPasswordFile {path}:"
    hashed = text.removesuffix("\n")
    if not hashed:
        raise UsersError(
            f"{what} the file is empty, which would allow a login without a password;"
            " write one hash (mkpasswd -m sha-512) or ! to lock the account"
        )
    try:
        check_account_field(hashed, "the hash")
    except SchemaError as exc:
        raise UsersError(f"{what} {_redacted(str(exc))}; the file must hold one hash") from None
    return hashed


def _redacted(message: str) -> str:
    """A schema message without the value it quotes (a password hash is not for logs)."""
    start, end = message.find(" '"), message.find("' contains ")
    if start < 0 or end < start:
        return message
    return message[:start] + message[end + 1 :]


def plan_users(
    users: Mapping[str, UserSpec],
    groups: Mapping[str, GroupSpec],
    db: AccountDb,
    state: AccountState,
) -> UsersPlan:
    """The whole users/groups change as a value; `db` and `state` are not modified."""
    work = db.copy()
    uid_map, gid_map = dict(state.uid_map), dict(state.gid_map)
    created_users, created_groups = set(state.users), set(state.groups)
    all_groups = implied_groups(users, groups, work, state.groups)
    lines = plan_groups(all_groups, work, gid_map, created_groups)
    lines += plan_user_rows(users, work, uid_map, created_users)
    member_lines, memberships = plan_memberships(users, all_groups, work, state.memberships)
    lines += member_lines
    widened = AccountState(
        users=frozenset(created_users | state.users),
        groups=frozenset(created_groups | state.groups),
        memberships={**state.memberships, **memberships},
        uid_map=uid_map,
        gid_map=gid_map,
    )
    lines += plan_removals(users, all_groups, work, created_users, created_groups)
    homes = []
    for name in sorted(users):
        row = work.user(name)
        if users[name].create_home and row is not None:
            homes.append(HomeDir(row.home, int(row.uid), int(row.gid)))
    final = AccountState(
        frozenset(created_users), frozenset(created_groups), memberships, uid_map, gid_map
    )
    return UsersPlan(tuple(lines), db, work, final, widened, tuple(homes))


class UsersStep:
    """Reads and writes one host's account databases and declos's account records."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.dir = host.activation_state

    def plan(self, users: Mapping[str, UserSpec], groups: Mapping[str, GroupSpec]) -> UsersPlan:
        """A plan from the databases as they are now (for printing and change detection)."""
        return self._plan(users, groups, AccountDb.read(self.host.etc))

    def apply(self, users: Mapping[str, UserSpec], groups: Mapping[str, GroupSpec]) -> UsersPlan:
        """Plan again under /etc/.pwd.lock on what is there now, and write it."""
        etc = self.host.etc
        with accounts_db.locked(etc):
            plan = self._plan(users, groups, AccountDb.read(etc))
            self._write_state(plan.widened)
            faults.point("users")
            accounts_db.write(etc, plan.before, plan.after)
            faults.point("users")
        self._homes(plan.homes)
        write_json(self.dir / "accounts.json", plan.state.accounts_json())
        return plan

    def _plan(
        self, users: Mapping[str, UserSpec], groups: Mapping[str, GroupSpec], db: AccountDb
    ) -> UsersPlan:
        resolved, warnings = with_password_files(users, self._read_password_file)
        plan = plan_users(resolved, groups, db, AccountState.read(self.dir))
        return replace(plan, lines=(*warnings, *plan.lines))

    def _read_password_file(self, path: str) -> str | None:
        """The text of a hashedPasswordFile on this host (None if it does not exist)."""
        try:
            return self.host.phys(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, PathEscape) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise UsersError(f"cannot read hashedPasswordFile {path}: {why}") from None

    def _write_state(self, state: AccountState) -> None:
        write_json(self.dir / "accounts.json", state.accounts_json())
        write_json(self.dir / "uid-map.json", dict(state.uid_map))
        write_json(self.dir / "gid-map.json", dict(state.gid_map))

    def _homes(self, homes: tuple[HomeDir, ...]) -> None:
        """Create missing homes, resolved inside the tree (never through a link out of it)."""
        for h in homes:
            path = self.host.phys(h.path)
            if path.exists():
                continue
            path.mkdir(parents=True, mode=0o700)
            if os.geteuid() == 0:
                os.chown(path, h.uid, h.gid)
