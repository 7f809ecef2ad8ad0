"""The builders of Python distributions and environments, run in-process by the store.

`builtin:python-fetch` (fixed-output): a locked wheel or sdist, from
~/.cache/declos/pypi/SHA256/FILENAME when a previous fetch left it there, else from the
lock's URL; verified before it is kept or used.
`builtin:python-wheel`: one wheel installed with pypa's `installer` into its own store
path (`lib/pythonX.Y/site-packages`, `bin`, `include`, `share`), bytecode compiled to
unchecked-hash .pyc (store mtimes are normalised, so timestamp .pyc would never match)
with the store path, not the build directory, as the file name in code objects, by
worker interpreters on every core, one pool for the whole build (bytecode.py: canonical
bytes, whatever the workers).
`builtin:python-env`: a virtual environment (pyvenv.cfg + interpreter links) whose
site-packages merges the distributions' site-packages with symlinks and whose console
scripts are copies with the shebang rewritten to the environment's interpreter.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import urllib.request
from pathlib import Path
from typing import BinaryIO

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import Hash, RecordEntry
from installer.sources import WheelFile
from installer.utils import Scheme, copyfileobj_with_hashing

from declos.pkgs.debian.archive import atomic_write_bytes, cache_dir
from declos.pkgs.python.bytecode import worker_pool
from declos.pkgs.python.errors import PythonError
from declos.store.build import BuildResources, builtin
from declos.store.derivation import Derivation

_SAFE_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def pypi_cache_path(sha256: str, filename: str) -> Path:
    return cache_dir() / "pypi" / sha256 / filename


def fetch_artifact(url: str, sha256: str, filename: str) -> Path:
    """The cached, verified archive for a lock entry (downloaded on first use)."""
    if not _SAFE_FILENAME.match(filename):
        raise PythonError(f"{filename!r} is not a safe archive file name")
    cached = pypi_cache_path(sha256, filename)
    if cached.is_file() and _sha256_file(cached) == sha256:
        return cached
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            data = resp.read()
    except (OSError, ValueError) as exc:
        raise PythonError(f"cannot download {filename} from {url}: {exc}") from None
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise PythonError(f"{url}: SHA256 {got}, the lock says {sha256}; nothing was kept")
    atomic_write_bytes(cached, data)
    return cached


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _phys(path: str, store_dir: str, physical_store: str) -> str:
    return physical_store + path[len(store_dir) :]


@builtin("python-fetch")
def _fetch(
    drv: Derivation, out: dict[str, str], physical_store: str, resources: BuildResources
) -> None:
    env = drv.env
    path = fetch_artifact(env["url"], env["sha256"], env["filename"])
    shutil.copyfile(path, out["out"])
    os.chmod(out["out"], 0o444)


def site_packages(version: str) -> str:
    return f"lib/python{version}/site-packages"


def _the_wheel(path: str, filename: str) -> tuple[str, str]:
    """(file, wheel file name): a fetched wheel is the file itself (its store name lost
    the original spelling, so the lock's name is passed); a built one is the only .whl
    in a directory."""
    if os.path.isfile(path):
        return path, filename
    wheels = sorted(n for n in os.listdir(path) if n.endswith(".whl"))
    if len(wheels) != 1:
        raise PythonError(f"{path}: expected exactly one .whl, found {wheels or 'none'}")
    return os.path.join(path, wheels[0]), wheels[0]


class _StoreDestination(SchemeDictionaryDestination):
    """installer's destination with the same checks in os.path terms: its pathlib
    version (Path objects, is_relative_to, exists, mkdir per file) was ~40 % of
    installer's CPU per wheel. A path that leaves its scheme directory is refused as
    installer refuses it; a file already there is an error; an executable is made 0o755
    directly (installer's helper sets and resets the process-wide umask, which two
    builder threads would race on; the store canonicalises modes anyway)."""

    def write_to_fs(
        self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        base = os.path.abspath(self.scheme_dict[scheme])
        target = os.path.abspath(os.path.join(base, path))
        if not target.startswith(base + os.sep):
            raise ValueError(f"Attempting to write {path} outside of the target directory")
        if os.path.lexists(target):
            raise FileExistsError(f"File already exists: {target}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            digest, size = copyfileobj_with_hashing(stream, f, self.hash_algorithm)
        if is_executable:
            os.chmod(target, 0o755)
        return RecordEntry(path, Hash(self.hash_algorithm, digest), size)


@builtin("python-wheel")
def _install_wheel(
    drv: Derivation, out: dict[str, str], physical_store: str, resources: BuildResources
) -> None:
    env = drv.env
    version = env["pythonVersion"]
    root = out["out"]
    final = drv.outputs["out"]
    wheel, filename = _the_wheel(
        _phys(env["wheel"], drv.store_dir, physical_store), env.get("filename", "")
    )
    site = site_packages(version)
    scheme = {
        "purelib": f"{root}/{site}",
        "platlib": f"{root}/{site}",
        "headers": f"{root}/include/python{version}/{env['pname']}",
        "scripts": f"{root}/bin",
        "data": root,
    }
    dest = _StoreDestination(scheme, interpreter=env["python"], script_kind="posix")
    os.makedirs(root)
    staged_wheel = os.path.join(os.path.dirname(root), filename)
    os.symlink(wheel, staged_wheel)  # installer reads name and version from the file name
    try:
        with WheelFile.open(Path(staged_wheel)) as source:
            install(source, dest, {"INSTALLER": b"declos\n"})
    except (InstallerError, ValueError, KeyError, OSError) as exc:
        raise PythonError(f"{filename}: cannot install the wheel: {exc}") from None
    finally:
        os.unlink(staged_wheel)
    if os.path.isdir(f"{root}/{site}"):
        python = env["python"]
        if python.startswith(drv.store_dir + "/"):
            python = _phys(python, drv.store_dir, physical_store)
        pool = resources.get("python-bytecode-workers", worker_pool)
        pool.compile_tree(python, f"{root}/{site}", f"{final}/{site}")


@builtin("python-env")
def _python_env(
    drv: Derivation, out: dict[str, str], physical_store: str, resources: BuildResources
) -> None:
    env = drv.env
    version = env["pythonVersion"]
    python = env["python"]
    root = out["out"]
    final = drv.outputs["out"]
    site = site_packages(version)
    os.makedirs(f"{root}/bin")
    os.makedirs(f"{root}/{site}")
    os.symlink("lib", f"{root}/lib64")
    with open(f"{root}/pyvenv.cfg", "w", encoding="utf-8") as f:
        f.write(
            f"home = {os.path.dirname(python)}\ninclude-system-site-packages = false\n"
            f"version = {version}\nexecutable = {python}\n"
        )
    for name in ("python", "python3", f"python{version}"):
        os.symlink(python, f"{root}/bin/{name}")
    owners: dict[str, str] = {}
    stores = (drv.store_dir, physical_store)
    for dist in env.get("dists", "").split():
        phys = _phys(dist, drv.store_dir, physical_store)
        if os.path.isdir(f"{phys}/{site}"):
            _merge(f"{phys}/{site}", f"{dist}/{site}", f"{root}/{site}", site, owners, stores)
        if os.path.isdir(f"{phys}/bin"):
            _scripts(
                f"{phys}/bin", f"{dist}/bin", f"{root}/bin", python, f"{final}/bin/python{version}"
            )
        for extra in ("share", "include"):
            if os.path.isdir(f"{phys}/{extra}"):
                _merge(
                    f"{phys}/{extra}", f"{dist}/{extra}", f"{root}/{extra}", extra, owners, stores
                )


def _merge(
    phys: str, logical: str, dest: str, rel: str, owners: dict[str, str], stores: tuple[str, str]
) -> None:
    """Link every entry of `phys` into `dest`; a directory two distributions share (a
    namespace package such as `zope/`) becomes a real directory merging both. `owners`
    maps each linked relative path to the store path it came from (for collision errors);
    `stores` is (logical, physical) store dir."""
    dist = _dist_of(logical, stores[0])
    os.makedirs(dest, exist_ok=True)
    for entry in sorted(os.listdir(phys)):
        src_phys, src, target = f"{phys}/{entry}", f"{logical}/{entry}", f"{dest}/{entry}"
        key = f"{rel}/{entry}"
        if entry == "__pycache__" and os.path.lexists(target):
            continue
        if not os.path.lexists(target):
            os.symlink(src, target)
            owners[key] = dist
            continue
        src_is_dir = os.path.isdir(src_phys) and not os.path.islink(src_phys)
        if os.path.islink(target) and src_is_dir:
            earlier = os.readlink(target)
            earlier_phys = _phys(earlier, *stores)
            if os.path.isdir(earlier_phys):
                os.unlink(target)
                _merge(earlier_phys, earlier, target, key, owners, stores)
                _merge(src_phys, src, target, key, owners, stores)
                continue
        elif os.path.isdir(target) and not os.path.islink(target) and src_is_dir:
            _merge(src_phys, src, target, key, owners, stores)
            continue
        if _same_file(src_phys, target):
            continue
        raise PythonError(
            f"{key.lstrip('/')} is in both {owners.get(key, '?')} and {dist}; an environment "
            "holds one copy of each file (drop one of the two distributions)"
        )


def _dist_of(logical: str, store_dir: str) -> str:
    """The store path (`STORE/HASH-NAME`) a logical path lies in."""
    head = logical[len(store_dir) + 1 :].split("/", 1)[0]
    return f"{store_dir}/{head}"


def _same_file(a: str, b: str) -> bool:
    if not (os.path.isfile(a) and os.path.isfile(b)):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def _scripts(phys: str, logical: str, dest: str, python: str, env_python: str) -> None:
    """Console scripts whose shebang names the base interpreter are copied with the
    environment's interpreter instead (so they find its site-packages with no
    PYTHONPATH); anything else is linked."""
    for entry in sorted(os.listdir(phys)):
        target = f"{dest}/{entry}"
        if os.path.lexists(target):
            continue
        src = f"{phys}/{entry}"
        if os.path.isfile(src) and not os.path.islink(src):
            with open(src, "rb") as f:
                data = f.read()
            first, sep, rest = data.partition(b"\n")
            if first == b"#!" + python.encode():
                with open(target, "wb") as f:
                    f.write(b"#!" + env_python.encode() + sep + rest)
                os.chmod(target, 0o555)
                continue
        os.symlink(f"{logical}/{entry}", target)
