"""Managing files under /etc without clobbering the distribution's.

Each managed path is either a relative symlink through `/etc/.declos-static` (itself
swapped atomically to point at the new closure, so all link contents change at once) or
a copy written by rename. `STATE/activation/etc-manifest.json` lists what declos made;
a path not in it is never overwritten unless its entry allows a backup, and backups
are restored when the entry goes away. Before changing anything the manifest is widened
to old ∪ new, so a run killed half way still knows every path it may have created.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from declos.activation import faults
from declos.activation.accounts_db import AccountDb
from declos.activation.errors import EtcConflict
from declos.activation.paths import STATIC_LINK, Host
from declos.common.atomic import (
    atomic_symlink,
    atomic_write,
    read_json,
    sha256_file,
    write_json,
)

BACKUP_SUFFIX = ".declos-backup"


@dataclass(frozen=True)
class Want:
    """One desired path below /etc (target is relative to /etc)."""

    target: str
    kind: str  # "link" (symlink with text `link`) or "copy" (file with `data`)
    source: str  # what identifies the content in the manifest (store path or "text:<sha>")
    link: str = ""
    data_path: Path | None = None
    data: bytes | None = None
    mode: int = 0o644
    user: str = "root"
    group: str = "root"
    replace_existing: bool = False

    def content(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.data_path is None:
            raise EtcConflict(f"/etc/{self.target}: a copy entry without content")
        return self.data_path.read_bytes()


def static_link_text(target: str, into: str) -> str:
    """Relative link from /etc/<target> to /etc/.declos-static/<into>."""
    parent = os.path.dirname("/etc/" + target)
    return os.path.relpath(f"/etc/{STATIC_LINK}/{into}", parent)


@dataclass
class Change:
    op: str  # create | update | remove | keep | adopt
    target: str
    backup: bool = False  # an unmanaged file is moved aside first (create) / restored (remove)


@dataclass
class EtcPlan:
    static: str
    wants: dict[str, Want]
    old: dict[str, dict[str, Any]]
    changes: list[Change] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    new_dirs: list[str] = field(default_factory=list)
    old_dirs: list[str] = field(default_factory=list)
    static_changes: bool = False

    @property
    def touched(self) -> list[Change]:
        return [c for c in self.changes if c.op not in ("keep",)]

    def describe(self) -> list[str]:
        lines = []
        for c in self.changes:
            p = "/etc/" + c.target
            if c.op in ("create", "update", "remove"):
                lines.append(f"{c.op} {p}")
            if c.backup and c.op in ("create", "update"):
                lines.append(f"back up {p} to {p}{BACKUP_SUFFIX}")
            if c.backup and c.op == "remove":
                lines.append(f"restore {p} from {p}{BACKUP_SUFFIX}")
        return lines


class EtcManager:
    def __init__(self, host: Host, manifest_path: Path) -> None:
        self.host = host
        self.manifest_path = manifest_path

    def manifest(self) -> dict[str, Any]:
        raw = read_json(self.manifest_path, None)
        m: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
        m.setdefault("entries", {})
        m.setdefault("dirs", [])
        m.setdefault("static", None)
        return m

    def _p(self, target: str) -> Path:
        """/etc/TARGET inside the host's tree; a path through a link out of it is refused."""
        return self.host.etc_path(target)

    def _is_ours(self, target: str, rec: dict[str, Any] | None) -> bool:
        """Whether the path on disk is what declos wrote (so it may be replaced/removed)."""
        p = self._p(target)
        if not os.path.lexists(p):
            return False
        if p.is_symlink():
            text = os.readlink(p)
            return (
                rec is not None and rec.get("kind") == "link" and text == rec.get("link")
            ) or STATIC_LINK in text.split("/")
        if rec is None or rec.get("kind") != "copy" or not p.is_file():
            return False
        return sha256_file(p) == rec.get("sha256")

    def _matches(self, want: Want) -> bool:
        p = self._p(want.target)
        if want.kind == "link":
            return p.is_symlink() and os.readlink(p) == want.link
        if p.is_symlink() or not p.is_file():
            return False
        st = p.stat()
        return (st.st_mode & 0o7777) == want.mode and p.read_bytes() == want.content()

    def plan(self, static: str, wants: list[Want]) -> EtcPlan:
        m = self.manifest()
        old: dict[str, dict[str, Any]] = m["entries"]
        plan = EtcPlan(
            static=static, wants={w.target: w for w in wants}, old=old, old_dirs=list(m["dirs"])
        )
        plan.static_changes = m["static"] != static
        for target in sorted(plan.wants):
            w = plan.wants[target]
            rec = old.get(target)
            p = self._p(target)
            if rec is not None:
                pending_backup = (
                    bool(rec.get("backup"))
                    and os.path.lexists(p)
                    and not self._is_ours(target, rec)
                    and not os.path.lexists(str(p) + BACKUP_SUFFIX)
                )
                same = (
                    rec.get("source") == w.source
                    and rec.get("kind") == w.kind
                    and rec.get("mode") == w.mode
                    and rec.get("owner") == f"{w.user}:{w.group}"
                )
                if same and self._matches(w) and not pending_backup:
                    plan.changes.append(Change("keep", target, backup=bool(rec.get("backup"))))
                else:
                    plan.changes.append(
                        Change("update", target, backup=bool(rec.get("backup")) or pending_backup)
                    )
                continue
            if os.path.lexists(p):
                if self._matches(w):
                    plan.changes.append(Change("adopt", target))
                elif w.replace_existing or (_in_wants_dir(target) and p.is_symlink()):
                    plan.changes.append(Change("create", target, backup=True))
                else:
                    plan.conflicts.append(target)
            else:
                plan.changes.append(Change("create", target))
                plan.new_dirs.extend(self._missing_dirs(target))
        for target in sorted(set(old) - set(plan.wants)):
            plan.changes.append(Change("remove", target, backup=bool(old[target].get("backup"))))
        plan.new_dirs = sorted(set(plan.new_dirs) - set(plan.old_dirs))
        plan.changes.sort(key=lambda c: c.target)
        return plan

    def _missing_dirs(self, target: str) -> list[str]:
        out = []
        parts = target.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if not self._p(d).exists():
                out.append(d)
        return out

    def check(self, plan: EtcPlan) -> None:
        if plan.conflicts:
            lines = []
            for t in plan.conflicts:
                lines.append(
                    f"/etc/{t} exists and was not created by declos; refusing to overwrite it."
                    f" Remove it, or set replaceExisting = true on its environment.etc entry"
                    f" to keep it as /etc/{t}{BACKUP_SUFFIX}"
                )
            raise EtcConflict("\n".join(lines))

    def _record(self, w: Want, backup: bool) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "kind": w.kind,
            "source": w.source,
            "mode": w.mode,
            "owner": f"{w.user}:{w.group}",
            "backup": backup,
        }
        if w.kind == "link":
            rec["link"] = w.link
        else:
            rec["sha256"] = hashlib.sha256(w.content()).hexdigest()
        return rec

    def apply(self, plan: EtcPlan, ids: AccountDb) -> None:
        """Carry out `plan`; `ids` maps user/group names to numbers."""
        backups = {c.target: c.backup for c in plan.changes}
        final = {t: self._record(w, backups.get(t, False)) for t, w in plan.wants.items()}
        widened = dict(plan.old)
        widened.update(final)
        dirs = sorted(set(plan.old_dirs) | set(plan.new_dirs))
        write_json(
            self.manifest_path,
            {"format": 1, "static": plan.static, "entries": widened, "dirs": dirs},
        )
        atomic_symlink(plan.static, self._p(STATIC_LINK))
        for c in plan.changes:
            if c.op == "remove":
                continue
            w = plan.wants[c.target]
            p = self._p(c.target)
            if c.backup:
                bak = Path(str(p) + BACKUP_SUFFIX)
                if (
                    os.path.lexists(p)
                    and not os.path.lexists(bak)
                    and not self._is_ours(c.target, plan.old.get(c.target))
                ):
                    os.rename(p, bak)
            if self._matches(w):
                continue
            if p.is_dir() and not p.is_symlink():
                raise EtcConflict(f"/etc/{c.target} is a directory; cannot replace it with a file")
            faults.point("etc")
            if w.kind == "link":
                atomic_symlink(w.link, p)
            else:
                uid = ids.uid(w.user) if self.host.live or os.geteuid() == 0 else None
                gid = ids.gid(w.group) if self.host.live or os.geteuid() == 0 else None
                atomic_write(p, w.content(), mode=w.mode, uid=uid, gid=gid)
        for c in plan.changes:
            if c.op != "remove":
                continue
            p = self._p(c.target)
            faults.point("etc")
            if self._is_ours(c.target, plan.old.get(c.target)):
                os.unlink(p)
            bak = Path(str(p) + BACKUP_SUFFIX)
            if os.path.lexists(bak) and not os.path.lexists(p):
                os.rename(bak, p)
        keep_dirs = self._prune_dirs(dirs, set(plan.wants))
        write_json(
            self.manifest_path,
            {"format": 1, "static": plan.static, "entries": final, "dirs": keep_dirs},
        )

    def _prune_dirs(self, dirs: list[str], wanted: set[str]) -> list[str]:
        """Remove directories declos created that are now empty (deepest first)."""
        kept = []
        for d in sorted(dirs, key=lambda s: s.count("/"), reverse=True):
            p = self._p(d)
            needed = any(t.startswith(d + "/") for t in wanted)
            if not needed and p.is_dir() and not p.is_symlink() and not any(p.iterdir()):
                p.rmdir()
            elif p.is_dir():
                kept.append(d)
        return sorted(kept)


def _in_wants_dir(target: str) -> bool:
    parent = os.path.basename(os.path.dirname(target))
    return target.startswith("systemd/system/") and parent.endswith((".wants", ".requires"))
