"""Bytecode compilation on every core: one pool of worker interpreters for a whole build.

compile() holds the GIL, so the store's builder threads cannot compile two wheels at once
in-process; like uv's `--compile-bytecode`, the files go to worker processes of the
target interpreter (pyc_worker.py). The pool lives as long as one realise() (the store's
BuildResources): a worker is started when a wheel needs one and none is idle, and then
serves every later wheel of the build, so a 1-file wheel no longer pays a worker's start.
ALL .pyc of a store path are written by a worker, whatever the number of workers or the
wheels a worker compiled before, and the worker canonicalises marshal's output, so the
bytes depend on the sources and the final store path only (docs/python.md §Bytecode).
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from declos.pkgs.python.errors import PythonError

WORKER = str(Path(__file__).with_name("pyc_worker.py"))
_FILES_PER_WORKER = 16  # below this, a second worker's round trip costs more than it saves


def default_workers() -> int:
    """DECLOS_BYTECODE_WORKERS if set (tests pin it to show the bytes do not depend on
    it), else the number of cores."""
    value = os.environ.get("DECLOS_BYTECODE_WORKERS", "")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise PythonError(f"DECLOS_BYTECODE_WORKERS={value!r}: expected a positive integer")
        return int(value)
    return os.cpu_count() or 1


def sources(tree: str) -> list[str]:
    """The .py files compileall.compile_dir would compile under `tree`, relative, sorted:
    regular files ending in .py, not under __pycache__, no symlinked directories."""
    found: list[str] = []

    def walk(rel: str) -> None:
        for entry in sorted(os.scandir(os.path.join(tree, rel)), key=lambda e: e.name):
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.name == "__pycache__":
                continue
            if entry.is_dir(follow_symlinks=False):
                walk(path)
            elif entry.name.endswith(".py") and entry.is_file():
                found.append(path)

    walk("")
    return found


class _Worker:
    """One `PYTHON -I -S pyc_worker.py` process: a batch is a 4-byte little-endian length
    and `SOURCE\\0DFILE\\0...`; the reply a 4-byte length and a message (empty: done)."""

    def __init__(self, python: str) -> None:
        try:
            self.proc = subprocess.Popen(
                [python, "-I", "-S", WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise PythonError(f"cannot run the bytecode worker {python}: {exc}") from None
        self.python = python

    def send(self, tree: str, ddir: str, files: list[str]) -> None:
        payload = b"".join(
            os.fsencode(f"{tree}/{rel}") + b"\0" + os.fsencode(f"{ddir}/{rel}") + b"\0"
            for rel in files
        )
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(len(payload).to_bytes(4, "little") + payload)
            self.proc.stdin.flush()
        except OSError:
            pass  # the worker died: receive() reports it

    def receive(self) -> str:
        """'' when the batch was compiled, else what went wrong."""
        assert self.proc.stdout is not None
        head = self.proc.stdout.read(4)
        if len(head) == 4:
            message = self.proc.stdout.read(int.from_bytes(head, "little"))
            return message.decode(errors="replace")
        return f"the worker {self.python} exited with status {self.proc.wait()}"

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.stdout.close()
        self.proc.wait()


class WorkerPool:
    """At most `workers` worker interpreters per Python, shared by the builder threads.

    A tree is split between the workers that are idle (or can still be started) when it
    arrives; a thread that finds none waits for one, so two wheels compiled at once
    share the cores instead of starting 2 x `workers` processes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._cond = threading.Condition()
        self._idle: dict[str, list[_Worker]] = {}
        self._started: dict[str, int] = {}
        self._all: list[_Worker] = []

    @property
    def started(self) -> int:
        """How many worker processes this pool has started so far."""
        with self._cond:
            return len(self._all)

    def compile_tree(self, python: str, tree: str, ddir: str) -> int:
        """Compile every source under `tree` (code objects named `ddir/RELPATH`); return
        the number of files handed out."""
        files = sources(tree)
        if not files:
            return 0
        wanted = max(1, min(self.workers, len(files) // _FILES_PER_WORKER))
        crew = self._take(python, wanted)
        try:
            for i, worker in enumerate(crew):
                worker.send(tree, ddir, files[i :: len(crew)])
            failures = [m for m in (w.receive() for w in crew) if m]
        finally:
            self._give_back(python, crew)
        if failures:
            raise PythonError(f"{tree}: bytecode compilation failed: {failures[0][-2000:]}")
        return len(files)

    def _take(self, python: str, wanted: int) -> list[_Worker]:
        """At least one worker (waiting for it if need be), up to `wanted` without waiting."""
        crew: list[_Worker] = []
        with self._cond:
            while True:
                idle = self._idle.setdefault(python, [])
                while idle and len(crew) < wanted:
                    crew.append(idle.pop())
                starts = min(wanted - len(crew), self.workers - self._started.get(python, 0))
                self._started[python] = self._started.get(python, 0) + max(0, starts)
                if crew or starts > 0:
                    break
                self._cond.wait()
        for left in range(max(0, starts), 0, -1):
            try:
                worker = _Worker(python)
            except PythonError:
                with self._cond:
                    self._started[python] -= left  # those never started
                self._give_back(python, crew)
                raise
            with self._cond:
                self._all.append(worker)
            crew.append(worker)
        return crew

    def _give_back(self, python: str, crew: list[_Worker]) -> None:
        with self._cond:
            for worker in crew:
                if worker.proc.poll() is None:
                    self._idle[python].append(worker)
                else:
                    self._started[python] -= 1
            self._cond.notify_all()

    def close(self) -> None:
        for worker in self._all:
            worker.close()


@contextmanager
def worker_pool(workers: int | None = None) -> Iterator[WorkerPool]:
    """A pool for one build (default: default_workers()); every worker ends on exit."""
    pool = WorkerPool(default_workers() if workers is None else workers)
    try:
        yield pool
    finally:
        pool.close()


def compile_tree(python: str, tree: str, ddir: str, *, workers: int) -> int:
    """compile_tree with a pool of its own (a single tree outside a build)."""
    with worker_pool(workers) as pool:
        return pool.compile_tree(python, tree, ddir)
