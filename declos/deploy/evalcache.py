"""Skipping evaluation and build on a redeploy whose inputs did not change.

A no-op redeploy should cost one round trip per host (issue 10). Evaluating a network and
computing its closures costs more than that (and loading the evaluator and the builder
costs more again), so after each deploy declos records what the closures were computed
from, and the next deploy reuses the recorded toplevels when all of it is unchanged:

- the code: declos's version, the Python version, and the size and mtime of every file of
  the declos package;
- every file the evaluation and the build opened for reading and every directory they
  listed (seen through Python's audit hooks, PEP 578), each by the SHA-256 of its content
  (a directory: of its sorted names; a missing file stays missing);
- the store root, the `DECLOS_*` environment variables and the deployment's list of
  network files (`declos modify` changes it).

What it cannot see: other environment variables and bare existence checks (`os.stat`)
made by a Python network file. An evaluation that starts a process (a module running a
command) is not recorded at all, so the next deploy evaluates. `deploy --no-eval-cache`
evaluates anyway. Files under the store, the Python installation, /proc, /sys, /dev and
declos's download cache are not inputs (immutable, or covered by the code stamp).

The record is the deployment attribute `evalCache` in the state (docs/deploy.md): input
paths with hashes, and per machine its toplevel and connection settings. No secret is in
it (`deployment.keys` and health checks are left out: an unchanged machine needs neither).
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import declos
from declos.deploy.state import Deployment, State
from declos.deploy.targets import MachineTarget

ATTR = "evalCache"
FORMAT = 1
SPAWN_EVENTS = frozenset(
    ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork")
)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# MachineTarget fields kept in the record (not keys, not health checks).
TARGET_FIELDS = (
    "name",
    "target_env",
    "host",
    "port",
    "user",
    "key_file",
    "tags",
    "always_activate",
    "magic_rollback",
    "confirm_timeout",
    "activation_timeout",
)


def code_stamp() -> str:
    """declos's version, Python's, and (path, size, mtime) of every file of the package."""
    h = hashlib.sha256(f"{declos.__version__}\0{sys.version}\0".encode())
    root = Path(declos.__file__).parent
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            st = os.stat(os.path.join(dirpath, name))
            h.update(f"{dirpath}/{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def key_of(store_root: str | None, environ: Mapping[str, str], files: Sequence[str] = ()) -> str:
    """The code stamp plus what every closure depends on besides file contents: the store
    root, the `DECLOS_*` environment and the deployment's network files (`modify`)."""
    env = sorted((k, v) for k, v in environ.items() if k.startswith("DECLOS_"))
    paths = [os.path.abspath(f) for f in files]
    text = f"{FORMAT}\0{code_stamp()}\0{store_root or ''}\0{env!r}\0{paths!r}"
    return hashlib.sha256(text.encode()).hexdigest()


def stamp(path: str) -> str:
    """`f:SHA256` of a file, `d:SHA256` of a directory's sorted names, `-` when missing."""
    try:
        if os.path.isdir(path):
            names = "\0".join(sorted(os.listdir(path)))
            return "d:" + hashlib.sha256(names.encode(errors="surrogateescape")).hexdigest()
        with open(path, "rb") as f:
            return "f:" + hashlib.file_digest(f, "sha256").hexdigest()
    except (FileNotFoundError, NotADirectoryError):
        return "-"
    except OSError as exc:
        return f"!{exc.errno}"


class InputRecorder:
    """Collects the files opened for reading and the directories listed while active.

    Only the creating thread (evaluation) and `declos-build*` threads are watched. An
    audit hook cannot be removed, so each recorder adds one that does nothing while the
    recorder is closed. Process starts count only in the creating thread (builders in
    worker threads run processes by design)."""

    def __init__(
        self, ignore: Iterable[str | os.PathLike[str]], ignore_files: Iterable[str] = ()
    ) -> None:
        self.ignore = tuple(os.path.join(os.path.realpath(p), "") for p in ignore)
        self.ignore_files = {os.path.realpath(p) for p in ignore_files}
        self.paths: set[str] = set()
        self.written: set[str] = set()
        self.impure: str | None = None
        self._thread = threading.get_ident()
        self._active = False
        sys.addaudithook(self._hook)

    def close(self) -> None:
        self._active = False

    def __enter__(self) -> InputRecorder:
        self._active = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self._active or not self._mine():
            return
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int) or path is None:
                return
            where = os.path.abspath(os.fsdecode(path))
            if (mode and any(c in mode for c in "wax+")) or (flags or 0) & WRITE_FLAGS:
                self.written.add(where)
            else:
                self.paths.add(where)
        elif event in ("os.listdir", "os.scandir"):
            path = args[0] if args else None
            if not isinstance(path, int):
                self.paths.add(os.path.abspath(os.fsdecode(path if path is not None else ".")))
        elif event in SPAWN_EVENTS and threading.get_ident() == self._thread:
            self.impure = f"the evaluation started a process ({event} {args[0]!r})"

    def _mine(self) -> bool:
        """Events of the evaluating thread and the build threads only: deploys running
        meanwhile read key files and SSH keys, which are no inputs (and no hash of a
        secret may reach the state)."""
        if threading.get_ident() == self._thread:
            return True
        return threading.current_thread().name.startswith("declos-build")

    def stamps(self) -> dict[str, str]:
        """Every recorded input (outside the ignored roots, never written here): its stamp."""
        out = {}
        for path in sorted(self.paths - self.written):
            real = os.path.realpath(path)
            if real not in self.ignore_files and not (real + "/").startswith(self.ignore):
                out[path] = stamp(path)
        return out


def ignored_roots(store_dirs: Sequence[str]) -> list[str | os.PathLike[str]]:
    """Where reads are not inputs: the store, Python, the kernel's files, declos itself
    (the code stamp) and the download cache (content-addressed)."""
    cache = Path(os.environ.get("DECLOS_CACHE", Path.home() / ".cache" / "declos"))
    return [
        *store_dirs,
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        "/proc",
        "/sys",
        "/dev",
        Path(declos.__file__).parent,
        cache,
    ]


def state_files(state_path: Path) -> list[str]:
    """The state database and SQLite's files beside it (read by the deploy, not inputs)."""
    return [str(state_path), *(f"{state_path}{s}" for s in ("-wal", "-shm", "-journal"))]


@dataclass
class EvalCache:
    """The record: inputs with stamps, every machine of the network, and per built machine
    its toplevel and connection settings."""

    key: str
    inputs: dict[str, str] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    machines: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "key": self.key,
            "inputs": self.inputs,
            "names": self.names,
            "machines": self.machines,
        }

    def target(self, name: str) -> MachineTarget:
        t = dict(self.machines[name]["target"])
        t["tags"] = tuple(t["tags"])
        return MachineTarget(**t)

    def toplevel(self, name: str) -> str:
        return str(self.machines[name]["toplevel"])

    def covers(self, names: Sequence[str]) -> bool:
        return all(n in self.machines for n in names)

    def record(self, name: str, target: MachineTarget, toplevel: str) -> None:
        t = asdict(target)
        self.machines[name] = {
            "toplevel": toplevel,
            "target": {f: (list(t[f]) if f == "tags" else t[f]) for f in TARGET_FIELDS},
        }


def load(state: State, dep: Deployment, key: str) -> EvalCache | None:
    """The record when it was made by this code and options and every input is unchanged."""
    data = state.attrs(dep).get(ATTR)
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
        return None
    inputs = data.get("inputs") or {}
    if any(stamp(path) != want for path, want in inputs.items()):
        return None
    return EvalCache(key, dict(inputs), list(data.get("names") or []), dict(data["machines"]))


def save(state: State, dep: Deployment, cache: EvalCache) -> None:
    state.set_attr(dep, ATTR, cache.to_json())


def forget(state: State, dep: Deployment) -> None:
    """Drop the record (an evaluation that could not be recorded)."""
    with state.transaction() as db:
        db.execute(
            "delete from deployment_attrs where deployment = ? and name = ?", (dep.uuid, ATTR)
        )
