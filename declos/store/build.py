"""Realising derivations: scheduling, builtin builders, sandboxed external builders.

A build's outputs are assembled outside the visible store, canonicalised, hashed and
scanned for references, then renamed into place and registered in one transaction, so an
interrupted build never leaves a valid half output.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, ExitStack
from typing import TYPE_CHECKING, Any, TypeVar, cast

from declos.store.db import PathInfo
from declos.store.derivation import Derivation
from declos.store.errors import BuildError, StoreError
from declos.store.nar import canonicalise, dump, remove_tree
from declos.store.paths import nix32_encode
from declos.store.refs import RefScanner
from declos.store.sandbox import build_env, run_sandboxed

if TYPE_CHECKING:
    from declos.store.store import Store

_T = TypeVar("_T")


class BuildResources:
    """What the builtin builders of one realise() share, started on first use and closed
    when realise() returns: e.g. the Python bytecode workers, started once for a whole
    build instead of once per wheel. Keyed by the user's own names; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, object] = {}
        self._stack = ExitStack()

    def get(self, key: str, start: Callable[[], AbstractContextManager[_T]]) -> _T:
        """The resource `key`, entering `start()` the first time it is asked for."""
        with self._lock:
            if key not in self._items:
                self._items[key] = self._stack.enter_context(start())
            return cast(_T, self._items[key])

    def close(self) -> None:
        self._stack.close()


BuiltinFn = Callable[
    [Derivation, dict[str, str], str, BuildResources], None
]  # (drv, staged outputs, physical store, this build's shared resources)
BUILTINS: dict[str, BuiltinFn] = {}


def builtin(name: str) -> Callable[[BuiltinFn], BuiltinFn]:
    def deco(fn: BuiltinFn) -> BuiltinFn:
        BUILTINS["builtin:" + name] = fn
        return fn

    return deco


@builtin("write-text")
def _write_text(
    drv: Derivation, out: dict[str, str], physical_store: str, resources: BuildResources
) -> None:
    """env: text, executable ("1" or ""), destination ("" = the output is the file)."""
    target = out["out"]
    dest = drv.env.get("destination", "")
    if dest:
        target = target + "/" + dest.lstrip("/")
        os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w", encoding="utf-8") as f:
        f.write(drv.env.get("text", ""))
    os.chmod(target, 0o555 if drv.env.get("executable") == "1" else 0o444)


@builtin("symlink-join")
def _symlink_join(
    drv: Derivation, out: dict[str, str], physical_store: str, resources: BuildResources
) -> None:
    """env: paths (space separated): merge their trees with symlinks; first one wins."""
    root = out["out"]
    os.makedirs(root)
    for src in drv.env.get("paths", "").split():
        _link_tree(src, root, drv.store_dir, physical_store)


def _link_tree(src: str, dest: str, store_dir: str, physical_store: str) -> None:
    phys = physical_store + src[len(store_dir) :]
    if not os.path.isdir(phys) or os.path.islink(phys):
        name = os.path.join(dest, os.path.basename(src))
        if not os.path.lexists(name):
            os.symlink(src, name)
        return
    _merge_dir(src, phys, dest, store_dir, physical_store, frozenset())


def _store_dir_of(phys: str, store_dir: str, physical_store: str) -> str | None:
    """The logical store path of the directory `phys` leads to (following symlinks), or
    None when it is not a directory inside the store. Debian packages' top-level `bin`,
    `lib` and `share` are links to `usr/...`; they must merge like real directories (as
    nixpkgs' buildEnv unfolds linked directories), or the second package's `bin` is lost."""
    if not os.path.isdir(phys):
        return None
    real = os.path.realpath(phys)
    base = os.path.realpath(physical_store)
    if not real.startswith(base + "/"):
        return None
    return store_dir + real[len(base) :]


def _merge_dir(
    src: str, phys: str, dest: str, store_dir: str, physical_store: str, seen: frozenset[str]
) -> None:
    real = os.path.realpath(phys)
    if real in seen:  # a link back to an enclosing directory: stop, do not loop
        return
    seen = seen | {real}
    for entry in sorted(os.listdir(phys)):
        s = src + "/" + entry
        d = os.path.join(dest, entry)
        ps = os.path.join(phys, entry)
        target = _store_dir_of(ps, store_dir, physical_store)
        if target is None:
            if not os.path.lexists(d):
                os.symlink(s, d)
            continue
        if os.path.islink(d):
            earlier = os.readlink(d)
            earlier_phys = physical_store + earlier[len(store_dir) :]
            earlier_dir = _store_dir_of(earlier_phys, store_dir, physical_store)
            if earlier_dir is None:
                continue  # a file or foreign link got there first: the first one wins
            os.unlink(d)
            os.makedirs(d)
            earlier_real = physical_store + earlier_dir[len(store_dir) :]
            _merge_dir(earlier_dir, earlier_real, d, store_dir, physical_store, seen)
        elif os.path.lexists(d) and not os.path.isdir(d):
            continue
        os.makedirs(d, exist_ok=True)
        _merge_dir(
            target, physical_store + target[len(store_dir) :], d, store_dir, physical_store, seen
        )


@builtin("fetchurl")
def _fetchurl(
    drv: Derivation, out: dict[str, str], physical_store: str, resources: BuildResources
) -> None:
    import urllib.request

    url = drv.env["url"]
    with urllib.request.urlopen(url, timeout=60) as resp, open(out["out"], "wb") as f:
        shutil.copyfileobj(resp, f, 1 << 20)
    os.chmod(out["out"], 0o555 if drv.env.get("executable") == "1" else 0o444)


class Builder:
    """Builds a set of derivations: dependencies first, independent ones in parallel."""

    def __init__(
        self,
        store: Store,
        *,
        keep_failed: bool = False,
        max_jobs: int | None = None,
        progress: Callable[[str, Derivation], None] | None = None,
    ) -> None:
        self.store = store
        self.keep_failed = keep_failed
        self.max_jobs = max_jobs or max(1, min(4, os.cpu_count() or 1))
        self.progress = progress
        self._lock = threading.Lock()

    def realise(self, drvs: list[Derivation]) -> list[str]:
        order: list[Derivation] = []
        seen: set[str] = set()
        for d in drvs:
            for x in d.closure():
                if x.drv_path not in seen:
                    seen.add(x.drv_path)
                    order.append(x)
        for d in order:
            self.store.write_derivation(d)
            for out in d.outputs.values():
                self.store.add_temp_root(out)
        todo = [d for d in order if not self._valid(d)]
        resources = BuildResources()
        try:
            self._run_parallel(todo, resources)
        finally:
            resources.close()
        return [d.out_path for d in drvs]

    def _valid(self, drv: Derivation) -> bool:
        outs = list(drv.outputs.values())
        return len(self.store.valid_subset(outs)) == len(outs)

    def _run_parallel(self, todo: list[Derivation], resources: BuildResources) -> None:
        pending = {d.drv_path: d for d in todo}
        done: set[str] = set()
        running: dict[Future[None], Derivation] = {}
        errors: list[BaseException] = []
        with ThreadPoolExecutor(self.max_jobs) as pool:
            while pending or running:
                if not errors:
                    for path, d in list(pending.items()):
                        deps = {x.drv_path for x in d.input_drvs}
                        if not (deps & pending.keys()) and not any(
                            x.drv_path in deps for x in running.values()
                        ):
                            del pending[path]
                            running[pool.submit(self.build_one, d, resources)] = d
                elif not running:
                    break
                if not running:
                    raise StoreError("internal: derivation graph has a cycle")
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in finished:
                    d = running.pop(fut)
                    exc = fut.exception()
                    if exc is not None:
                        errors.append(exc)
                    else:
                        done.add(d.drv_path)
        if errors:
            raise errors[0]

    # -- one derivation -------------------------------------------------------------------
    def build_one(self, drv: Derivation, resources: BuildResources) -> None:
        store = self.store
        lock_name = "build-" + drv.drv_path.rsplit("/", 1)[-1]
        from declos.store.locks import file_lock

        with file_lock(store.lock_path(lock_name)):
            if self._valid(drv):
                return
            if self.progress:
                self.progress("building", drv)
            for d, outs in drv.input_drvs.items():
                for o in outs:
                    if not store.is_valid(d.outputs[o]):
                        raise BuildError(f"input {d.outputs[o]} of {drv.drv_path} is not valid")
            input_roots = set(drv.input_srcs) | {
                d.outputs[o] for d, outs in drv.input_drvs.items() for o in outs
            }
            inputs = store.closure(input_roots) if input_roots else []
            log_path = store.log_path(drv.drv_path)
            work = store.temp_dir()
            try:
                staged = self._run_builder(drv, work, inputs, log_path, resources)
                self._register_outputs(drv, staged, inputs)
            except BaseException:
                if self.keep_failed:
                    kept = f"{store.physical_state}/failed/{drv.drv_path.rsplit('/', 1)[-1]}-{int(time.time())}"
                    os.makedirs(os.path.dirname(kept), exist_ok=True)
                    os.rename(work, kept)
                    with open(log_path, "a") as f:
                        f.write(f"declos: build directory kept at {kept}\n")
                raise
            finally:
                if os.path.exists(work):
                    remove_tree(work)

    def _run_builder(
        self,
        drv: Derivation,
        work: str,
        inputs: list[str],
        log_path: str,
        resources: BuildResources,
    ) -> dict[str, str]:
        store = self.store
        with open(log_path, "w") as f:
            f.write(f"building '{drv.drv_path}'\n")
        if drv.builder in BUILTINS:
            staged = {o: os.path.join(work, "out-" + o) for o in drv.outputs}
            try:
                BUILTINS[drv.builder](drv, staged, store.physical_store, resources)
            except Exception as exc:
                with open(log_path, "a") as f:
                    f.write(f"error: {exc}\n")
                raise BuildError(
                    f"builder for '{drv.drv_path}' failed: {exc} (log: {log_path})"
                ) from exc
        elif drv.builder.startswith("builtin:"):
            raise BuildError(
                f"{drv.drv_path}: unknown builtin builder {drv.builder!r}; known: {', '.join(sorted(BUILTINS))}"
            )
        else:
            env = build_env(drv.env, store.store_dir)
            rc = run_sandboxed(
                work=work,
                store_dir=store.store_dir,
                physical_store=store.physical_store,
                inputs=inputs,
                outputs=list(drv.outputs.values()),
                builder=drv.builder,
                args=drv.args,
                env=env,
                network=drv.is_fixed_output,
                log_path=log_path,
            )
            if rc != 0:
                tail = _tail(log_path)
                raise BuildError(
                    f"builder for '{drv.drv_path}' failed with exit code {rc}; last log lines:\n{tail}\n"
                    f"(full log: {log_path})"
                )
            staged = {o: os.path.join(work, "root") + p for o, p in drv.outputs.items()}
        for o, p in staged.items():
            if not os.path.lexists(p):
                raise BuildError(
                    f"builder for '{drv.drv_path}' failed to produce output '{o}' ({drv.outputs[o]})"
                )
        return staged

    def _register_outputs(self, drv: Derivation, staged: dict[str, str], inputs: list[str]) -> None:
        store = self.store
        candidates = set(inputs) | set(drv.outputs.values())
        infos = []
        for o, tmp in staged.items():
            canonicalise(tmp)
            h = hashlib.sha256()
            size = 0
            scanner = RefScanner(candidates)
            flat = hashlib.sha256()

            def sink(data: bytes, h: Any = h, scanner: RefScanner = scanner) -> None:
                nonlocal size
                h.update(data)
                size += len(data)
                scanner(data)

            dump(tmp, sink)
            ca = None
            if drv.fixed is not None:
                method_algo, want = drv.fixed
                if method_algo.startswith("r:"):
                    got = (
                        h.hexdigest()
                        if method_algo == "r:sha256"
                        else _nar_other(tmp, method_algo[2:])
                    )
                else:
                    if not os.path.isfile(tmp) or os.path.islink(tmp):
                        raise BuildError(
                            f"fixed-output derivation '{drv.drv_path}': flat output must be a regular file"
                        )
                    with open(tmp, "rb") as f:
                        flat = hashlib.new(method_algo)
                        while chunk := f.read(1 << 20):
                            flat.update(chunk)
                    got = flat.hexdigest()
                if got != want:
                    raise BuildError(
                        f"hash mismatch in fixed-output derivation '{drv.drv_path}':\n"
                        f"  specified: {method_algo.removeprefix('r:')}:{want}\n"
                        f"  got:       {method_algo.removeprefix('r:')}:{got}"
                    )
                if scanner.found - {drv.outputs[o]}:
                    raise BuildError(
                        f"fixed-output derivation '{drv.drv_path}' output refers to other store paths"
                    )
                ca = f"fixed:{method_algo}:{nix32_encode(bytes.fromhex(want))}"
            infos.append(
                PathInfo(
                    drv.outputs[o],
                    "sha256:" + h.hexdigest(),
                    size,
                    sorted(scanner.found),
                    deriver=drv.drv_path,
                    ca=ca,
                )
            )
        for path in drv.outputs.values():
            store.add_temp_root(path)
        with _PathLocks(store, list(drv.outputs.values())):
            for o, tmp in staged.items():
                store._install(tmp, drv.outputs[o])
            store.register(infos, {drv.drv_path: dict(drv.outputs)})


def _nar_other(path: str, algo: str) -> str:
    h = hashlib.new(algo)
    dump(path, h.update)
    return h.hexdigest()


def _tail(path: str, lines: int = 10) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError:
        return ""


class _PathLocks:
    def __init__(self, store: Store, paths: list[str]) -> None:
        self._cms = [store.path_lock(p) for p in sorted(paths)]

    def __enter__(self) -> None:
        for cm in self._cms:
            cm.__enter__()

    def __exit__(self, *exc: object) -> None:
        for cm in reversed(self._cms):
            cm.__exit__(*exc)
