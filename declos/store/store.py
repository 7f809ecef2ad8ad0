"""The Store: a Nix-format store directory plus its SQLite database and state directory.

Library first: every CLI command and every other part of declos (pkgs, system, deploy,
activation tests) goes through this class. Logical paths (what is written into files and
hashed) stay the same wherever the store physically lives (`root`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from declos.store import location
from declos.store.db import Database, PathInfo
from declos.store.errors import PathNotValid, StoreError
from declos.store.locks import file_lock, pid_alive
from declos.store.nar import NarReader, dump, nar_hash, remove_tree
from declos.store.paths import (
    hash_part,
    make_source_path,
    make_text_path,
    nix32_encode,
    split_store_path,
)
from declos.store.refs import RefScanner
from declos.store.schema import db_file

if TYPE_CHECKING:
    from declos.store.derivation import Derivation, Source
    from declos.store.profiles import Profiles

TMP_PREFIX = ".tmp-"


def ca_text(hex_hash: str) -> str:
    return "text:sha256:" + nix32_encode(bytes.fromhex(hex_hash))


def ca_source(hex_hash: str) -> str:
    return "fixed:r:sha256:" + nix32_encode(bytes.fromhex(hex_hash))


class Store:
    """A store opened for reading and writing (see docs/store-db.md for the layout)."""

    def __init__(self, store_dir: str, state_dir: str, root: str | None = None) -> None:
        self.store_dir = store_dir.rstrip("/") or "/"
        self.state_dir = state_dir.rstrip("/") or "/"
        self.root = os.path.abspath(root) if root else None
        self.physical_store = self._phys(self.store_dir)
        self.physical_state = self._phys(self.state_dir)
        for d in (
            self.physical_store,
            self.physical_state,
            self.physical_state + "/db",
            self.physical_state + "/locks",
            self.physical_state + "/gcroots",
            self.physical_state + "/profiles",
            self.physical_state + "/log",
        ):
            os.makedirs(d, exist_ok=True)
        self.db = Database(db_file(self.physical_state))
        self._cleaned = False

    @classmethod
    def open(cls, root: str | Path | None = None) -> Store:
        return cls(location.store_dir(), location.state_dir(), os.fspath(root) if root else None)

    # -- locations ------------------------------------------------------------------
    def _phys(self, logical: str) -> str:
        if not self.root:
            return logical
        return self.root + (logical if logical.startswith("/") else "/" + logical)

    def real_path(self, logical_path: str) -> Path:
        return Path(self._phys(logical_path))

    def to_store_path(self, path: str) -> str:
        """The top-level store path for a logical path or a physical path into this store."""
        if self.root and path.startswith(self.physical_store + "/"):
            path = self.store_dir + path[len(self.physical_store) :]
        return split_store_path(path, self.store_dir)[0]

    def add_temp_root(self, path: str) -> None:
        """Protect `path` from a concurrent GC for the lifetime of this process (temproots/PID)."""
        d = self.physical_state + "/temproots"
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/{os.getpid()}", "a") as f:
            f.write(path + "\n")

    def lock_path(self, name: str) -> str:
        return f"{self.physical_state}/locks/{name}.lock"

    def path_lock(self, path: str):  # type: ignore[no-untyped-def]
        return file_lock(self.lock_path(hash_part(path)))

    # -- half paths -------------------------------------------------------------------
    def temp_dir(self) -> str:
        """A private directory inside the store for assembling a path before its rename."""
        path = self._temp_name()
        os.mkdir(path, 0o700)
        return path

    def _temp_name(self) -> str:
        """A fresh name inside the store that cleanup_half_paths removes if this process dies."""
        self.cleanup_half_paths()
        return f"{self.physical_store}/{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"

    def cleanup_half_paths(self, force: bool = False) -> list[str]:
        """Delete leftovers of killed processes: temp dirs of dead pids (once per Store)."""
        if self._cleaned and not force:
            return []
        self._cleaned = True
        removed = []
        with os.scandir(self.physical_store) as it:
            for entry in it:
                if not entry.name.startswith(TMP_PREFIX):
                    continue
                try:
                    pid = int(entry.name[len(TMP_PREFIX) :].split("-", 1)[0])
                except ValueError:
                    pid = -1
                if pid != os.getpid() and (pid < 0 or not pid_alive(pid)):
                    remove_tree(entry.path)
                    removed.append(entry.path)
        return removed

    def _install(self, tmp_item: str, path: str) -> None:
        """Move a finished item into place; a stale invalid copy there is removed first."""
        dest = self._phys(path)
        if os.path.lexists(dest):
            remove_tree(dest)
        os.rename(tmp_item, dest)

    # -- queries ----------------------------------------------------------------------
    def is_valid(self, path: str) -> bool:
        return self.db.is_valid(path)

    def valid_subset(self, paths: Iterable[str]) -> set[str]:
        return self.db.valid_subset(paths)

    def path_info(self, path: str) -> PathInfo:
        info = self.db.query(path)
        if info is None:
            raise PathNotValid(f"path '{path}' is not valid in the store {self.store_dir}")
        return info

    def references(self, path: str) -> list[str]:
        return sorted(self.path_info(path).references)

    def referrers(self, path: str) -> list[str]:
        return sorted(self.db.referrers(path))

    def all_paths(self) -> list[str]:
        return self.db.all_paths()

    def closure(self, paths: Iterable[str], *, referrers: bool = False) -> list[str]:
        """All paths reachable by references (or referrers), dependencies first."""
        start = [self.to_store_path(p) for p in paths]
        for p in start:
            if not self.is_valid(p):
                raise PathNotValid(f"path '{p}' is not valid in the store {self.store_dir}")
        graph: dict[str, list[str]] = {}
        todo = list(start)
        while todo:
            p = todo.pop()
            if p in graph:
                continue
            edges = self.db.referrers(p) if referrers else self.db.references(p)
            graph[p] = edges
            todo.extend(e for e in edges if e not in graph)
        order = topo_sort(graph)
        return list(reversed(order)) if referrers else order

    # -- adding -------------------------------------------------------------------------
    def add_text(self, name: str, text: str | bytes, references: Iterable[str] = ()) -> str:
        data = text.encode() if isinstance(text, str) else bytes(text)
        refs = sorted(set(references))
        path = make_text_path(name, data, refs, self.store_dir)
        self.add_temp_root(path)
        if self.is_valid(path):
            return path
        self._check_refs(refs, path)
        with self.path_lock(path):
            if self.is_valid(path):
                return path
            # A temp file beside the store paths, not a temp directory: a build with
            # 50,000 /etc entries spent over half its time in mkdir/rmdir of those.
            item = self._temp_name()
            try:
                with open(item, "xb") as f:
                    f.write(data)
                os.chmod(item, 0o444)
                os.utime(item, (1, 1))
                digest, size = nar_hash(item)
                self._install(item, path)
                self.db.register(
                    [
                        PathInfo(
                            path,
                            "sha256:" + digest,
                            size,
                            refs,
                            ca=ca_text(hashlib.sha256(data).hexdigest()),
                        )
                    ]
                )
            finally:
                remove_tree(item)  # gone already unless something failed
        return path

    def add_path(
        self,
        src: str | Path,
        name: str | None = None,
        *,
        references: Iterable[str] | None = None,
        scan_references: Iterable[str] | None = None,
        flat: bool = False,
    ) -> str:
        """Copy a file or tree into the store as a `source` path (nix-store --add).

        With `flat`, a single regular file is added as a text path of its bytes
        (builtins.toFile semantics), which is what `declos store add --flat` means.
        """
        src = os.fspath(src)
        if not os.path.lexists(src):
            raise StoreError(f"{src}: no such file or directory")
        name = name or os.path.basename(os.path.abspath(src).rstrip("/"))
        if flat:
            if not os.path.isfile(src) or os.path.islink(src):
                raise StoreError(f"{src}: --flat needs a regular file")
            with open(src, "rb") as f:
                return self.add_text(name, f.read(), references or ())
        from declos.store.paths import check_name

        check_name(name)
        refs = set(references or ())
        self._check_refs(refs, src)
        tmp = self.temp_dir()
        try:
            item = os.path.join(tmp, "item")
            h = hashlib.sha256()
            size = 0
            scanner = RefScanner(scan_references or ())

            def sink(data: bytes) -> None:
                nonlocal size
                h.update(data)
                size += len(data)
                scanner(data)

            dump(src, sink, copy_to=item)
            refs |= scanner.found
            self._check_refs(refs, src)
            digest = h.hexdigest()
            path = make_source_path(name, digest, refs, self.store_dir)
            self.add_temp_root(path)
            if self.is_valid(path):
                return path
            with self.path_lock(path):
                if not self.is_valid(path):
                    self._install(item, path)
                    self.db.register(
                        [
                            PathInfo(
                                path, "sha256:" + digest, size, sorted(refs), ca=ca_source(digest)
                            )
                        ]
                    )
            return path
        finally:
            remove_tree(tmp)

    def add_source(self, source: Source) -> str:
        path = self.add_path(source.src, source.name)
        if path != source.out_path:
            raise StoreError(
                f"{source.src} changed since it was referenced (expected {source.out_path}, got {path})"
            )
        return path

    def add_nar(self, info: PathInfo, read, *, check_refs: bool = True) -> bool:  # type: ignore[no-untyped-def]
        """Import one path from a NAR stream; verifies the narHash before registering.

        Returns False (after consuming the NAR) when the path was already valid.
        """
        path = info.path
        split_store_path(path, self.store_dir)
        if check_refs:
            self._check_refs([r for r in info.references if r != path], path)
        tmp = self.temp_dir()
        try:
            item = os.path.join(tmp, "item")
            reader = NarReader(read)
            reader.restore(item)
            got = "sha256:" + reader.hasher.hexdigest()
            if got != info.nar_hash or reader.size != info.nar_size:
                raise StoreError(
                    f"hash mismatch importing '{path}': expected {info.nar_hash} ({info.nar_size} bytes), "
                    f"got {got} ({reader.size} bytes)"
                )
            self.add_temp_root(path)
            with self.path_lock(path):
                if self.is_valid(path):
                    return False
                self._install(item, path)
                self.db.register([info])
            return True
        finally:
            remove_tree(tmp)

    def _check_refs(self, refs: Iterable[str], what: str) -> None:
        refs = list(refs)
        missing = set(refs) - self.valid_subset(refs)
        if missing:
            raise StoreError(
                f"{what}: reference(s) not valid in the store: {', '.join(sorted(missing))}"
            )

    def register(
        self, infos: Sequence[PathInfo], drv_outputs: dict[str, dict[str, str]] | None = None
    ) -> None:
        self.db.register(infos, drv_outputs)

    def delete(self, paths: Iterable[str]) -> None:
        """Invalidate then remove paths (the caller ensures nothing live refers to them)."""
        paths = list(paths)
        self.db.invalidate(paths)
        for p in paths:
            remove_tree(self._phys(p))

    # -- reading ------------------------------------------------------------------------
    def dump(self, path: str, sink) -> None:  # type: ignore[no-untyped-def]
        split_store_path(path, self.store_dir)
        dump(self._phys(path), sink)

    def read_text(self, path: str) -> str:
        with open(self._phys(path), encoding="utf-8") as f:
            return f.read()

    # -- builds, profiles, gc, copy -----------------------------------------------------
    def realise(
        self,
        drvs: Derivation | Sequence[Derivation],
        *,
        keep_failed: bool = False,
        max_jobs: int | None = None,
        progress: Callable[[str, Derivation], None] | None = None,
    ) -> list[str]:
        from declos.store.build import Builder
        from declos.store.derivation import Derivation as Drv

        items = [drvs] if isinstance(drvs, Drv) else list(drvs)
        return Builder(self, keep_failed=keep_failed, max_jobs=max_jobs, progress=progress).realise(
            items
        )

    def load_derivation(self, drv_path: str) -> Derivation:
        from declos.store.derivation import load_derivation

        return load_derivation(self.read_text, self.to_store_path(drv_path), self.store_dir)

    def write_derivation(self, drv: Derivation) -> str:
        for dep in drv.input_drvs:
            if not self.is_valid(dep.drv_path):
                self.write_derivation(dep)
        for src in drv.sources.values():
            if not self.is_valid(src.out_path):
                self.add_source(src)
        refs = sorted(drv.input_srcs | {d.drv_path for d in drv.input_drvs})
        path = self.add_text(drv.name + ".drv", drv.aterm, refs)
        if path != drv.drv_path:
            raise StoreError(f"internal: {drv.name}.drv stored at {path}, expected {drv.drv_path}")
        return path

    @property
    def profiles(self) -> Profiles:
        from declos.store.profiles import Profiles

        return Profiles(self)

    def log_path(self, drv_path: str) -> str:
        return f"{self.physical_state}/log/{os.path.basename(drv_path)}.log"

    def add_root(self, name: str, path: str) -> str:
        """A direct GC root `gcroots/NAME -> path` (atomic replace)."""
        from declos.store.gc import add_root

        return add_root(self, name, path)

    def close(self) -> None:
        self.db.close()

    def __repr__(self) -> str:
        return f"Store({self.store_dir!r}, root={self.root!r})"


def topo_sort(graph: dict[str, list[str]]) -> list[str]:
    """Order nodes so every node comes after the nodes it points to (references first)."""
    order: list[str] = []
    state: dict[str, int] = {}
    for start in sorted(graph):
        if start in state:
            continue
        stack = [(start, iter(sorted(graph.get(start, ()))))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if nxt == node or state.get(nxt):
                    continue
                state[nxt] = 1
                stack.append((nxt, iter(sorted(graph.get(nxt, ())))))
                break
            else:
                stack.pop()
                state[node] = 2
                order.append(node)
    return order
