"""The package set: functions returning Derivations, computed without touching the store.

Modules call these while the configuration is evaluated; only `realise` opens the store,
so `declos eval` stays fast and works without a writable store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import declos.pkgs.debian.builders  # noqa: F401  (registers the builtin:debian-* builders)
from declos.pkgs.debian.lockfile import LOCK_NAME, read_lock
from declos.pkgs.debian.packages import DebianSet
from declos.pkgs.overlays import OverlayError, OverlayStack, attr_name
from declos.pkgs.python.lockfile import PYLOCK_NAME
from declos.pkgs.python.packages import Python
from declos.pkgs.stdenv.stdenv import Stdenv
from declos.store.derivation import DEFAULT_SYSTEM, Derivation, Source, StringContext
from declos.store.location import store_dir as default_store_dir
from declos.store.store import Store

DEFAULT_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
_UNREAD, _READING, _READ = "unread", "reading", "read"


class DebView:
    """`pkgs.deb`: attribute and item access to the final set's packages, and `in`
    (whether the lock pins a name or an overlay defines it)."""

    __slots__ = ("_pkgs",)

    def __init__(self, pkgs: Pkgs) -> None:
        self._pkgs = pkgs

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._pkgs.package(attr_name(name))

    def __getitem__(self, name: str) -> Any:
        return self._pkgs.package(attr_name(name))

    def __contains__(self, name: str) -> bool:
        return self._pkgs.has_package(name)


class Pkgs:
    """A package set bound to one logical store dir (and lazily to one Store).

    One Pkgs serves one evaluation: its `context` records the paths of the derivations
    and sources it made, so a string mentioning one (`f"{pkgs.hello}/bin/hello"`)
    makes a later derivation depend on it, as Nix's string context does. Nothing is
    shared between Pkgs objects, so evaluations cannot influence each other's paths."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        store_dir: str | None = None,
        system: str = DEFAULT_SYSTEM,
        root: str | Path | None = None,
        lock: str | Path | None = None,
        recording: bool = False,
        hermetic: bool = False,
        python_lock: str | Path | None = None,
    ) -> None:
        self._store = store
        self._root = root
        self._lock_path = lock
        self._debian: DebianSet | None = None
        self._python_lock = python_lock
        self._python: Python | None = None
        self._recording = recording
        self._hermetic = hermetic
        self._config: Any = None
        self._state = _UNREAD
        self._stack: OverlayStack | None = None
        self._served: dict[str, str] = {}
        self._fixed: dict[str, Derivation] = {}
        self.store_dir = (
            store.store_dir if store is not None else (store_dir or default_store_dir())
        )
        self.system = system
        self.context = StringContext()

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self._root)
        return self._store

    # -- Debian packages (declos.pkgs.debian), read from declos.lock ----------------------
    @property
    def debian(self) -> DebianSet:
        """The locked Debian packages; `pkgs.deb.NAME` and `pkgs.NAME` are spellings of it."""
        if self._debian is None:
            lock = None
            if not self._recording:
                path = Path(self._lock_path) if self._lock_path else Path.cwd() / LOCK_NAME
                lock = read_lock(path) if path.exists() else None
            self._debian = DebianSet(self, lock, recording=self._recording, hermetic=self._hermetic)
        return self._debian

    def host_requires(self, closure: Callable[[], Iterable[str]]) -> dict[str, str]:
        """Debian packages (name -> minimum version) the host of a system whose closure
        is `closure()` must have installed; {} when no locked package was used (then
        the closure is not even computed)."""
        if self._debian is None or not self._debian.host_libc_paths:
            return {}
        return self._debian.host_requires(set(closure()))

    @property
    def deb(self) -> DebView:
        """`pkgs.deb.NAME`: the spelling for package names that clash with builders."""
        return DebView(self)

    # -- Python (declos.pkgs.python), read from pylock.toml ---------------------------------
    @property
    def python3(self) -> Python:
        """The interpreter with the distributions of pylock.toml (beside declos.lock, or in
        the current directory); the Debian package of that name is `pkgs.deb.python3`."""
        if self._python is None:
            lock = self._python_lock
            if lock is None:
                base = Path(self._lock_path).parent if self._lock_path else Path.cwd()
                lock = base / PYLOCK_NAME
            self._python = Python(self, lock, recording=self._recording)
        return self._python

    @property
    def stdenv(self) -> Stdenv:
        """Building from source (`pkgs.stdenv.mk_derivation`, `call_package`)."""
        return Stdenv(self)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.package(attr_name(name))

    def __getitem__(self, name: str) -> Any:
        if hasattr(type(self), name):
            return getattr(self, name)
        return self.package(attr_name(name))

    # -- overlays and per-system settings (the `pkgs.*` options) -------------------------
    def bind_config(self, config: Any) -> None:
        """The evaluation's `config`: `pkgs.overlays` and `pkgs.hermetic` are read from it
        when the first package is looked up (the evaluator calls this)."""
        if self._config is None:
            self._config = config

    def package(self, name: str) -> Any:
        """Package `name` of the final set: the overlays' if one defines it, else the lock's."""
        if self._state == _READING:
            # A module that runs while the evaluator looks for pkgs.overlays definitions:
            # it gets the set without overlays, checked against the final set after.
            value = self.debian[name]
            self._served.setdefault(name, value.drv_path)
            return value
        if self._state == _UNREAD:
            self._read_options()
        if self._stack is None:
            return self.debian[name]
        return self._stack.final(name)

    def has_package(self, name: str) -> bool:
        if self._stack is not None and name in self._stack.names():
            return True
        return name in self.debian

    def _read_options(self) -> None:
        overlays: list[Any] = []
        hermetic = False
        config = self._config
        self._state = _READING
        try:
            if config is not None and "pkgs" in config:
                node = config.pkgs
                overlays = list(node.overlays) if "overlays" in node else []
                hermetic = bool(node.hermetic) if "hermetic" in node else False
        finally:
            self._state = _READ
        if hermetic:
            self.debian.hermetic = True
        if overlays:
            debian = self.debian
            self._stack = OverlayStack(
                overlays,
                debian.__getitem__,
                self,
                lambda fn: setattr(debian, "resolve_dep", fn),
            )
            self._stack.compute()
        for name, drv_path in sorted(self._served.items()):
            if self.package(name).drv_path != drv_path:
                raise OverlayError(
                    f"pkgs.{name} was used by a module that ran while the evaluator was "
                    "looking for pkgs.overlays / pkgs.hermetic definitions, so it saw the "
                    "package set without them, and they change pkgs."
                    f"{name}; define pkgs.overlays and pkgs.hermetic in a module that does "
                    "not use pkgs (a plain dict module), or make that use lazy "
                    "(lazy(lambda config: [pkgs.NAME]))"
                )

    def derivation(
        self,
        name: str,
        builder: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        **kwargs: object,
    ) -> Derivation:
        """A raw `derivation { ... }`; this set's string context is scanned from args and env."""
        return Derivation(
            name,
            builder,
            args,
            env,
            system=self.system,
            store_dir=self.store_dir,
            context=self.context,
            **kwargs,  # type: ignore[arg-type]
        )

    # -- trivial builders (in-process builtins) -------------------------------------
    def write_text(
        self, name: str, text: str, *, executable: bool = False, destination: str = ""
    ) -> Derivation:
        env = {"text": text, "executable": "1" if executable else "", "destination": destination}
        return self.derivation(name, "builtin:write-text", (), env)

    def write_script(self, name: str, text: str) -> Derivation:
        return self.write_text(name, text, executable=True)

    def write_shell_script(self, name: str, text: str) -> Derivation:
        return self.write_text(name, "#!/bin/bash\n" + text, executable=True)

    def write_shell_script_bin(self, name: str, text: str) -> Derivation:
        return self.write_text(
            name, "#!/bin/bash\n" + text, executable=True, destination=f"/bin/{name}"
        )

    def symlink_join(self, name: str, paths: Iterable[Derivation | Source | str]) -> Derivation:
        """One tree of symlinks merging `paths` (first path wins on conflicts)."""
        items = list(paths)
        return self.derivation(
            name,
            "builtin:symlink-join",
            (),
            {"paths": " ".join(str(p) for p in items)},
            input_drvs=[p for p in items if isinstance(p, Derivation)],
            input_srcs=[p for p in items if isinstance(p, Source)],
        )

    def link_farm(self, name: str, links: Mapping[str, str]) -> Derivation:
        """A tree of symlinks: relative path -> target (nixpkgs' linkFarm)."""
        return self.derivation(
            name, "builtin:link-farm", (), {"links": json.dumps(dict(links), sort_keys=True)}
        )

    def path(self, src: str | Path, name: str | None = None) -> Source:
        """A local file/dir as a store path (added to the store when a build needs it)."""
        return Source(str(src), name, self.store_dir, context=self.context)

    # -- external builders (sandboxed) ----------------------------------------------------
    def run_command(
        self, name: str, script: str, env: Mapping[str, str] | None = None
    ) -> Derivation:
        """Run a bash script in the sandbox with `$out` to create; PATH is the host's /usr/bin."""
        full = {"PATH": DEFAULT_PATH, **(env or {}), "buildCommand": script}
        return self.derivation(name, "/bin/bash", ["-e", "-c", 'eval "$buildCommand"'], full)

    # -- fetchers (fixed-output: may use the network, hash verified) ---------------------
    def fixed_output(
        self,
        name: str,
        builder: str,
        env: Mapping[str, str],
        sha256: str,
        *,
        recursive: bool = False,
    ) -> Derivation:
        """A fixed-output derivation: `builder` may use the network, its output must hash
        to `sha256` (the file itself, or its NAR when `recursive`). One per distinct
        (name, builder, env, hash) in this set: the Debian `.deb` fetch, the Python
        wheel/sdist fetch and `fetchurl` all come here, so a file used by many packages
        is one derivation object, made once."""
        key = json.dumps([name, builder, sorted(env.items()), sha256, recursive])
        drv = self._fixed.get(key)
        if drv is None:
            drv = self._fixed[key] = self.derivation(
                name,
                builder,
                (),
                env,
                output_hash=sha256,
                output_hash_algo="sha256",
                output_hash_mode="recursive" if recursive else "flat",
            )
        return drv

    def fetchurl(
        self, url: str, sha256: str, *, name: str | None = None, executable: bool = False
    ) -> Derivation:
        name = name or url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "download"
        env = {"url": url}
        if executable:
            env["executable"] = "1"
        return self.fixed_output(name, "builtin:fetchurl", env, sha256, recursive=executable)

    def realise(self, *drvs: Derivation) -> list[str]:
        return self.store.realise(list(drvs))


def default_pkgs() -> Pkgs:
    return Pkgs()
