"""Per-user profiles with nix-env's verbs (`declos env`), installed by attribute.

A user's profile is `STATE/profiles/per-user/USER/profile` with numbered generations
(declos.common.profiles). Each generation is one store path: a symlink tree of the
installed packages' `bin`, `sbin`, `share` and `etc` (a Debian package brings its
closure, as apt would) and `manifest.json`, which records for every element the
attribute it was installed from, its store path and priority. Upgrades re-evaluate the
same attribute (never a match by name: the nix#3283 class of bugs); two elements that
provide the same file are a collision naming both, resolved with a priority.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from declos.common.profiles import Generation, Profiles, parse_age
from declos.store.errors import StoreError

PROFILE = "profile"
LINKED = ("bin", "sbin", "share", "etc")
DEFAULT_PRIORITY = 5


class EnvError(StoreError):
    """A profile operation that cannot be done; the message says what to do instead."""


@dataclass(frozen=True)
class Element:
    """One installed attribute."""

    attr: str
    path: str
    name: str
    priority: int = DEFAULT_PRIORITY
    outputs: tuple[str, ...] = ()  # the store paths linked (the package and its closure)


def _resolve_attr(pkgs: Any, attr: str) -> Any:
    value = pkgs
    for part in attr.split("."):
        try:
            value = value[part] if part and "-" in part else getattr(value, part)
        except AttributeError:
            raise EnvError(f"attribute {attr!r} does not exist in the package set") from None
    if not hasattr(value, "out_path"):
        raise EnvError(f"attribute {attr!r} is not a package")
    return value


class UserEnvironment:
    """One user's profile in one store."""

    def __init__(self, store: Any, user: str) -> None:
        if not user or "/" in user or user.startswith("."):
            raise EnvError(f"invalid user name {user!r}")
        self.store = store
        self.user = user
        state = store.physical_state
        self.profiles = Profiles(f"{state}/profiles/per-user/{user}", f"{state}/locks")

    # -- queries -------------------------------------------------------------------------
    def elements(self, path: str | None = None) -> list[Element]:
        path = path or self.profiles.current(PROFILE)
        if path is None:
            return []
        with open(self.store.real_path(f"{path}/manifest.json"), encoding="utf-8") as f:
            data = json.load(f)
        return [
            Element(e["attr"], e["path"], e["name"], int(e["priority"]), tuple(e["outputs"]))
            for e in data["elements"]
        ]

    def generations(self) -> list[Generation]:
        return self.profiles.generations(PROFILE)

    # -- changes -------------------------------------------------------------------------
    def install(self, pkgs: Any, attrs: Sequence[str], priority: int = DEFAULT_PRIORITY) -> int:
        new = [self._element(pkgs, a, priority) for a in attrs]
        names = {e.attr for e in new}
        kept = [e for e in self.elements() if e.attr not in names]
        return self._commit([*kept, *new])

    def erase(self, attrs: Sequence[str]) -> int:
        current = self.elements()
        unknown = set(attrs) - {e.attr for e in current}
        if unknown:
            raise EnvError(
                f"not installed: {', '.join(sorted(unknown))} (installed: "
                f"{', '.join(e.attr for e in current) or 'nothing'})"
            )
        return self._commit([e for e in current if e.attr not in attrs])

    def upgrade(self, pkgs: Any, attrs: Sequence[str] = ()) -> tuple[int | None, list[str]]:
        """Re-evaluate the attributes (all when none named); a new generation if any moved."""
        current = self.elements()
        changed: list[str] = []
        out = []
        for e in current:
            if attrs and e.attr not in attrs:
                out.append(e)
                continue
            fresh = self._element(pkgs, e.attr, e.priority)
            if fresh.path != e.path:
                changed.append(f"{e.name} -> {fresh.name}")
            out.append(fresh)
        return (self._commit(out) if changed else None), changed

    def rollback(self) -> int:
        return self.profiles.rollback(PROFILE)

    def switch(self, number: int) -> str:
        return self.profiles.set_current(PROFILE, number)

    def delete_generations(self, spec: Sequence[str]) -> list[int]:
        """nix-env --delete-generations: numbers, `old`, `Nd`, `+N` (keep the last N)."""
        numbers: list[int] = []
        older: float | None = None
        keep: int | None = None
        for s in spec:
            if s == "old":
                keep = 1
            elif s.startswith("+") and s[1:].isdigit():
                keep = int(s[1:])
            elif s.isdigit():
                numbers.append(int(s))
            else:
                older = parse_age(s)
        return self.profiles.delete(PROFILE, numbers, older_than=older, keep_last=keep)

    # -- building a generation ------------------------------------------------------------------
    def _element(self, pkgs: Any, attr: str, priority: int) -> Element:
        drv = _resolve_attr(pkgs, attr)
        items = drv.profile_packages() if hasattr(drv, "profile_packages") else [drv]
        self.store.realise(items)
        name = drv.name
        return Element(attr, drv.out_path, name, priority, tuple(str(i) for i in items))

    def _commit(self, elements: list[Element]) -> int:
        path = self._build(elements)
        return self.profiles.set(PROFILE, path)

    def _build(self, elements: list[Element]) -> str:
        entries: dict[str, tuple[str, Element]] = {}
        for e in sorted(elements, key=lambda x: x.priority):
            seen_here: set[str] = set()
            for out in e.outputs:
                for rel, target in self._files(out):
                    if rel in seen_here:
                        continue  # within one element (a package and its closure): first wins
                    seen_here.add(rel)
                    other = entries.get(rel)
                    if other is None:
                        entries[rel] = (target, e)
                    elif other[1].priority == e.priority and other[0] != target:
                        raise EnvError(
                            f"collision between '{other[0]}' (from {other[1].attr}) and "
                            f"'{target}' (from {e.attr}); give one a higher priority with "
                            f"`declos env -i --priority N {e.attr}` (lower N wins) or remove "
                            f"one with `declos env -e {other[1].attr}`"
                        )
        tmp = tempfile.mkdtemp(prefix="declos-env-")
        try:
            root = os.path.join(tmp, "env")
            os.makedirs(root)
            for rel, (target, _e) in sorted(entries.items()):
                dest = os.path.join(root, rel)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.symlink(target, dest)
            manifest = {"version": 1, "elements": [asdict(e) for e in elements]}
            with open(os.path.join(root, "manifest.json"), "w") as f:
                json.dump(manifest, f, indent=1, sort_keys=True)
            refs = {o for e in elements for o in e.outputs}
            return str(
                self.store.add_path(root, "user-environment", scan_references=self._closure(refs))
            )
        finally:
            shutil.rmtree(tmp)

    def _closure(self, paths: Iterable[str]) -> list[str]:
        return list(self.store.closure(list(paths))) if paths else []

    def _files(self, out: str) -> Iterable[tuple[str, str]]:
        phys = str(self.store.real_path(out))
        for top in LINKED:
            base = os.path.join(phys, top)
            if not os.path.isdir(base):
                continue
            store = str(self.store.real_path(self.store.store_dir))
            for dirpath, dirs, files in os.walk(base, followlinks=True):
                # follow links between store paths, never into the host's tree
                dirs[:] = [
                    d for d in dirs if os.path.realpath(os.path.join(dirpath, d)).startswith(store)
                ]
                for name in files:
                    full = os.path.join(dirpath, name)
                    rel = os.path.relpath(full, phys)
                    yield rel, f"{out}/{rel}"
