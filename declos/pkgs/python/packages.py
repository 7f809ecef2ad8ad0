"""`pkgs.python3`: the interpreter, the locked distributions, environments and applications.

Every locked distribution is two derivations, like a Debian package: the archive as a
fixed-output fetch (its path depends only on the lock's SHA-256) and its installation
(one store path per distribution). An environment is a virtualenv linking into those
paths; an application is its project built to a wheel in the sandbox, installed the
same way, and put into an environment with its locked dependencies.

The interpreter is the host's CPython (`/usr/bin/python3.11` on Debian 12: host-libc
mode, like the Debian packages' default); environments record it in `pyvenv.cfg`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from declos.pkgs.debian.packages import store_name
from declos.pkgs.python import builders as _builders  # noqa: F401  (registers builtin:python-*)
from declos.pkgs.python.errors import PythonError
from declos.pkgs.python.lockfile import Artifact, LockedDist, PyLock, canonical_name
from declos.pkgs.python.project import read_project, requirement_name
from declos.pkgs.python.recording import RecordingLock
from declos.pkgs.python.uvlock import read_python_lock
from declos.pkgs.python.wheels import select_wheel
from declos.pkgs.stdenv.stdenv import StdenvDerivation
from declos.store.derivation import Derivation, Source

if TYPE_CHECKING:
    from declos.pkgs.package_set import Pkgs

DEFAULT_INTERPRETER = "/usr/bin/python3.11"
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01: the earliest time a zip (wheel) can store
_VERSION = re.compile(r"python(\d+)\.(\d+)$")
# PEP 517 without isolation, in the source directory: the backend (and its in-tree
# `backend-path`) as pyproject.toml names it, setuptools' legacy backend without one.
_BUILD_WHEEL = (
    "import importlib, json, os, sys, tomllib\n"
    "system = {}\n"
    "if os.path.exists('pyproject.toml'):\n"
    "    with open('pyproject.toml', 'rb') as f:\n"
    "        system = tomllib.load(f).get('build-system', {})\n"
    "sys.path[:0] = [os.path.abspath(p) for p in system.get('backend-path', [])]\n"
    "name = system.get('build-backend', 'setuptools.build_meta:__legacy__')\n"
    "mod, _, obj = name.partition(':')\n"
    "backend = importlib.import_module(mod)\n"
    "for part in filter(None, obj.split('.')):\n"
    "    backend = getattr(backend, part)\n"
    "os.makedirs(os.environ['out'], exist_ok=True)\n"
    "settings = json.loads(os.environ.get('configSettings') or 'null')\n"
    "print('built', backend.build_wheel(os.environ['out'], settings))\n"
)
DEFAULT_BUILD_REQUIRES = ("setuptools", "wheel")


class PythonDist(Derivation):
    """One installed distribution (`lib/pythonX.Y/site-packages`, `bin`)."""

    pname: str
    dist_version: str


PackageList = Sequence["PythonDist | str"] | Callable[[Any], Sequence["PythonDist | str"]]


class PythonPackages:
    """`python3.pkgs`: the locked distributions by name (`ps.zope_interface`, `ps["WebOb"]`)."""

    def __init__(self, python: Python) -> None:
        self._python = python

    def __getattr__(self, name: str) -> PythonDist:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._python.dist(name)

    def __getitem__(self, name: str) -> PythonDist:
        return self._python.dist(name)


class Python:
    """The interpreter plus the distributions of one pylock.toml, for one evaluation."""

    def __init__(
        self,
        pkgs: Pkgs,
        lock_path: str | Path | None,
        interpreter: str = DEFAULT_INTERPRETER,
        *,
        recording: bool = False,
    ) -> None:
        m = _VERSION.search(interpreter)
        if m is None:
            raise PythonError(f"{interpreter}: name the interpreter as .../pythonX.Y")
        self.interpreter = interpreter
        self.version = f"{m.group(1)}.{m.group(2)}"
        self.version_info = (int(m.group(1)), int(m.group(2)))
        self._pkgs = pkgs
        self._lock_path = Path(lock_path) if lock_path else None
        self._lock: PyLock | None = RecordingLock() if recording else None
        self._memo: dict[str, Derivation] = {}
        self.pkgs = PythonPackages(self)

    def __str__(self) -> str:
        return self.interpreter

    @property
    def site_packages(self) -> str:
        return f"lib/python{self.version}/site-packages"

    @property
    def lock(self) -> PyLock:
        if self._lock is None:
            if self._lock_path is None or not self._lock_path.exists():
                where = self._lock_path or "pylock.toml"
                raise PythonError(
                    f"Python distributions were used but {where} does not exist; create it "
                    "with `declos.pkgs.python.locking.lock_requirements` or "
                    "`declos lock`, or give a project's uv.lock"
                )
            self._lock = read_python_lock(self._lock_path)
        return self._lock

    # -- derivations ----------------------------------------------------------------------
    def fetch(self, art: Artifact) -> Derivation:
        return self._pkgs.fixed_output(
            store_name(art.filename),
            "builtin:python-fetch",
            {"url": art.url, "sha256": art.sha256, "filename": art.filename},
            art.sha256,
        )

    def dist(
        self,
        name: str,
        *,
        sdist: bool = False,
        build_inputs: Sequence[Derivation] = (),
        build_requires: Sequence[str] = DEFAULT_BUILD_REQUIRES,
        env: Mapping[str, str] | None = None,
        config_settings: Mapping[str, str | Sequence[str]] | None = None,
    ) -> PythonDist:
        """The store path of locked distribution `name`: installed from its best wheel, or
        (`sdist=True`, or no wheel fits) built from its sdist in the sandbox with the
        stdenv toolchain, `build_inputs` (Debian -dev packages from the store) and the
        locked `build_requires` (its build backend: the lock cannot know it, as uv2nix's
        overrides cannot); `config_settings` go to the backend's `build_wheel` (PEP 517,
        pip's `-C KEY=VALUE`)."""
        locked = self.lock.get(name.replace("_", "-"))
        if sdist and isinstance(self.lock, RecordingLock):
            self.lock.sdists.add(locked.key)
        wheel = None if sdist else select_wheel(locked, self.version_info)
        if wheel is None and locked.sdist is None:
            raise PythonError(
                f"{locked.name} {locked.version}: no locked wheel fits CPython "
                f"{self.version} on this platform "
                f"(wheels: {', '.join(w.filename for w in locked.wheels) or 'none'}) and "
                "the lock has no sdist; lock it again allowing the sdist (no_binary)"
            )
        key = json.dumps(
            [
                locked.key,
                wheel is None,
                [d.out_path for d in build_inputs],
                list(build_requires),
                dict(env or {}),
                _settings(config_settings),
            ]
        )
        if key not in self._memo:
            if wheel is not None:
                self._memo[key] = self._install(locked, self.fetch(wheel), wheel.filename)
            else:
                settings = _settings(config_settings)
                built = self._build_sdist(
                    locked, build_inputs, build_requires, {**(env or {}), **settings}
                )
                self._memo[key] = self._install(locked, built, "", built.runtime_inputs)
        return self._memo[key]  # type: ignore[return-value]

    def _build_sdist(
        self,
        locked: LockedDist,
        build_inputs: Sequence[Derivation],
        build_requires: Sequence[str],
        env: Mapping[str, str],
    ) -> StdenvDerivation:
        assert locked.sdist is not None
        headers = f"libpython{self.version}-dev"  # Python.h's pyconfig.h, in the sysroot
        if headers not in self._pkgs.debian:
            raise PythonError(
                f"building {locked.name} from its sdist needs the Debian package {headers} "
                "in declos.lock (with the stdenv toolchain); lock it"
            )
        build_env = self.with_packages(list(build_requires), name=f"{locked.name}-build-env")
        return self._pkgs.stdenv.mk_derivation(
            store_name(f"python{self.version}-{locked.name}-{locked.version}-wheel"),
            src=self.fetch(locked.sdist),
            build_inputs=[*build_inputs, self._pkgs.debian[headers]],
            phases=("unpackPhase", "patchPhase", "installPhase"),
            install_phase='"$buildEnv/bin/python" -c "$buildWheel"',
            env={
                "buildEnv": build_env.out_path,
                "buildWheel": _BUILD_WHEEL,
                "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
                **env,
            },
        )

    def _install(
        self,
        locked: LockedDist,
        wheel: Derivation,
        filename: str,
        runtime: Sequence[Derivation] = (),
    ) -> PythonDist:
        """Install `wheel`; `runtime` are the libraries a built extension links (a zipped
        wheel hides its references, so they are named as inputs for the scan to find)."""
        drv = PythonDist(
            store_name(f"python{self.version}-{locked.name}-{locked.version}"),
            "builtin:python-wheel",
            (),
            {
                "pname": locked.name,
                "version": locked.version,
                "wheel": wheel,
                "filename": filename,
                "python": self.interpreter,
                "pythonVersion": self.version,
            },
            input_drvs=list(runtime),
            system=self._pkgs.system,
            store_dir=self._pkgs.store_dir,
            context=self._pkgs.context,
        )
        drv.pname, drv.dist_version = locked.name, locked.version
        return drv

    def _resolve(self, packages: PackageList) -> list[PythonDist]:
        """The given distributions and the locked closure of their dependencies; a
        PythonDist given explicitly (built from its sdist, say) replaces the default
        one of its name."""
        items = packages(self.pkgs) if callable(packages) else packages
        names: list[str] = []
        given: dict[str, PythonDist] = {}
        for item in items:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, PythonDist):
                key = canonical_name(item.pname)
                given[key] = item
                if key in self.lock.dists:
                    names.append(item.pname)
            else:
                raise PythonError(
                    f"with_packages takes distribution names or python3.pkgs entries, not {item!r}"
                )
        closure = self.lock.closure(names)
        extra = [d for k, d in given.items() if k not in closure]
        return [*extra, *(given.get(k) or self.dist(k) for k in closure)]

    def with_packages(self, packages: PackageList, *, name: str | None = None) -> Derivation:
        """A virtual environment of `packages` and their locked dependencies (a list, or a
        function of `python3.pkgs` returning one, as nixpkgs' `withPackages (ps: [...])`)."""
        dists = self._resolve(packages)
        return self.env(dists, name or f"python{self.version}-env")

    def env(self, dists: Iterable[PythonDist], name: str) -> Derivation:
        paths = sorted({d.out_path: d for d in dists}.values(), key=lambda d: d.out_path)
        return Derivation(
            store_name(name),
            "builtin:python-env",
            (),
            {
                "dists": " ".join(d.out_path for d in paths),
                "python": self.interpreter,
                "pythonVersion": self.version,
            },
            input_drvs=paths,
            system=self._pkgs.system,
            store_dir=self._pkgs.store_dir,
            context=self._pkgs.context,
        )

    def build_application(self, src: str | Path | Source, *, name: str | None = None) -> Derivation:
        """A project with a pyproject.toml, built to a wheel in the sandbox with its locked
        build backend, installed, and put into an environment with its locked
        dependencies: its console scripts run from the store, no PYTHONPATH needed."""
        source = src if isinstance(src, Source) else self._pkgs.path(src)
        project = read_project(Path(source.src))
        if isinstance(self.lock, RecordingLock):
            for requirement in [*project["dependencies"], *project["build_requires"]]:
                self.lock.require(requirement)
        pname, version = project["name"], project["version"]
        build_env = self.with_packages(
            [requirement_name(r) for r in project["build_requires"]], name=f"{pname}-build-env"
        )
        wheel = self._pkgs.derivation(
            store_name(f"{pname}-{version}-wheel"),
            "/bin/bash",
            ["-e", "-c", _WHEEL_SCRIPT],
            {
                "PATH": "/usr/bin:/bin",
                "src": str(source),
                "buildEnv": str(build_env),
                "buildWheel": _BUILD_WHEEL,
                "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
            },
            input_drvs=[build_env],
            input_srcs=[source],
        )
        locked = LockedDist(pname, version, dependencies=())
        app = self._install(locked, wheel, "")
        deps = self._resolve([requirement_name(r) for r in project["dependencies"]])
        return self.env([app, *deps], name or f"{pname}-{version}")


def _settings(config_settings: Mapping[str, str | Sequence[str]] | None) -> dict[str, str]:
    """The `configSettings` variable of a wheel build (JSON of the PEP 517 dict), or none."""
    if not config_settings:
        return {}
    for key, value in config_settings.items():
        values = [value] if isinstance(value, str) else list(value)
        if not isinstance(key, str) or not all(isinstance(v, str) for v in values):
            raise PythonError(
                f"config_settings: {key!r}: keys are strings and values strings or lists of "
                "strings (PEP 517)"
            )
    return {"configSettings": json.dumps(dict(config_settings), sort_keys=True)}


_WHEEL_SCRIPT = (
    'cp -r "$src" /build/src\nchmod -R u+w /build/src\ncd /build/src\nmkdir -p "$out"\n'
    '"$buildEnv/bin/python" -c "$buildWheel"\n'
)
