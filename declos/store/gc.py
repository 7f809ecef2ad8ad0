"""GC roots and garbage collection (src/libstore/gc.cc).

Roots: every symlink under `profiles/` and `gcroots/` (recursively) that points into the
store is a direct root; one pointing elsewhere is indirect (e.g. `gcroots/auto/X -> ./result`)
and is followed one level; stale indirect roots are removed. Live = closure of roots.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from declos.common.atomic import atomic_symlink
from declos.store.errors import NotAStorePath
from declos.store.locks import file_lock
from declos.store.paths import split_store_path

if TYPE_CHECKING:
    from declos.store.store import Store


@dataclass
class GCResult:
    deleted: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    dry_run: bool = False


def add_root(store: Store, name: str, path: str) -> str:
    link = os.path.join(store.physical_state, "gcroots", name)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    atomic_symlink(store.to_store_path(path), link)
    return link


def add_indirect_root(store: Store, link: str) -> str:
    """Register a `result`-style symlink: gcroots/auto/<hash> -> its absolute location."""
    link = os.path.abspath(link)
    auto = os.path.join(store.physical_state, "gcroots", "auto")
    os.makedirs(auto, exist_ok=True)
    name = hashlib.sha256(link.encode()).hexdigest()[:32]
    atomic_symlink(link, os.path.join(auto, name))
    return os.path.join(auto, name)


def find_roots(store: Store) -> dict[str, str]:
    """{root link: store path} for all live roots; stale indirect roots are deleted."""
    roots: dict[str, str] = {}
    for base in ("profiles", "gcroots"):
        top = os.path.join(store.physical_state, base)
        for dirpath, dirnames, filenames in os.walk(top):
            for n in dirnames + filenames:
                link = os.path.join(dirpath, n)
                if not os.path.islink(link):
                    continue
                target = os.readlink(link)
                if not target.startswith("/"):
                    target = os.path.normpath(os.path.join(os.path.dirname(link), target))
                    if target.startswith(store.physical_state):
                        target = store.state_dir + target[len(store.physical_state) :]
                resolved = _to_store_path(store, target)
                if resolved is None and base == "gcroots":
                    resolved = _follow_indirect(store, link, target)
                elif resolved is None and base == "profiles":
                    continue
                if resolved and store.is_valid(resolved):
                    roots[link] = resolved
    return roots


def _to_store_path(store: Store, target: str) -> str | None:
    """The store path a root's target names, None if it names no store path.

    Only "not a store path" means None: any other failure propagates and stops the
    collection, because a root that is silently skipped makes its closure garbage."""
    try:
        return split_store_path(target, store.store_dir)[0]
    except NotAStorePath:
        return None


def _follow_indirect(store: Store, link: str, target: str) -> str | None:
    phys = store._phys(target) if store.root and not os.path.lexists(target) else target
    if not os.path.islink(phys):
        if not os.path.lexists(phys):
            os.unlink(link)  # stale indirect root: the result link is gone
        return None
    return _to_store_path(store, os.readlink(phys))


def temp_roots(store: Store) -> set[str]:
    """Paths live processes added or are building (temproots/PID); files of dead PIDs go."""
    from declos.store.locks import pid_alive

    d = os.path.join(store.physical_state, "temproots")
    found: set[str] = set()
    if not os.path.isdir(d):
        return found
    for name in os.listdir(d):
        f = os.path.join(d, name)
        if name.isdigit() and pid_alive(int(name)) and int(name) != os.getpid():
            with open(f) as fh:
                found.update(line.strip() for line in fh if line.strip())
        elif name.isdigit() and not pid_alive(int(name)):
            os.unlink(f)
    return found


def live_paths(store: Store) -> set[str]:
    roots = set(find_roots(store).values()) | {p for p in temp_roots(store) if store.is_valid(p)}
    if not roots:
        return set()
    graph = store.db.all_references()
    live: set[str] = set()
    todo = list(roots)
    while todo:
        p = todo.pop()
        if p in live:
            continue
        live.add(p)
        todo.extend(graph.get(p, ()))
    return live


def collect_garbage(
    store: Store,
    *,
    dry_run: bool = False,
    max_freed: int | None = None,
    progress: Callable[[str], object] | None = None,
) -> GCResult:
    """Delete every valid path not reachable from a root, referrers first."""
    from declos.store.store import topo_sort

    with file_lock(store.lock_path("gc")):
        graph = store.db.all_references()
        live = live_paths(store)
        dead = {p: [r for r in refs if r not in live] for p, refs in graph.items() if p not in live}
        order = list(reversed(topo_sort(dead)))  # referrers before what they refer to
        result = GCResult(dry_run=dry_run)
        for p in order:
            if max_freed is not None and result.bytes_freed >= max_freed:
                break
            size = _disk_size(store._phys(p))
            if not dry_run:
                store.delete([p])
            result.deleted.append(p)
            result.bytes_freed += size
            if progress:
                progress(p)
        if not dry_run:
            store.cleanup_half_paths(force=True)
        return result


def _disk_size(path: str) -> int:
    total = 0
    if os.path.islink(path) or os.path.isfile(path):
        return os.lstat(path).st_size
    for dirpath, dirnames, filenames in os.walk(path):
        for n in filenames + dirnames:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_size
            except OSError:
                pass
    return total
