"""The one way declos talks to a host: run, put/get, copy a closure, activate.

pyinfra's connectors are the model: an abstract host with a few primitives, implemented
for the local machine (declos.hosts.local) and SSH (declos.hosts.ssh; test VMs are SSH
hosts on a forwarded port). Everything else is built on two primitives each
implementation provides, `run` (a command to completion) and `open_channel` (a command
as a byte stream, which the store's copy protocol drives), so put/get, closure copies
and activation behave the same on every kind of host.
"""

from __future__ import annotations

import re
import shlex
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from declos.hosts.errors import InvalidCommand
from declos.store.copy import Channel, CopyStats, Remote, pull_closure, push_closure

if TYPE_CHECKING:
    from declos.store.store import Store

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DEFAULT_TIMEOUT = 600.0
ACTIVATION_TIMEOUT = 1800.0

# put: write a temp file beside the target, set mode and owner, rename over the target.
_PUT = (
    'set -e; tmp=$(mktemp "$(dirname -- "$1")/.declos-put.XXXXXX"); '
    'trap \'rm -f "$tmp"\' EXIT; cat > "$tmp"; chmod "$2" "$tmp"; '
    'if [ -n "$3" ]; then chown -- "$3" "$tmp"; fi; mv -f -- "$tmp" "$1"; trap - EXIT'
)
# activate: one stream of stdout and stderr, in the order the activator wrote them.
_COMBINED = 'exec "$@" 2>&1'


@dataclass(frozen=True)
class CommandResult:
    """A finished command: what ran, its exit status and its raw output."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        """stdout decoded (undecodable bytes replaced)."""
        return self.stdout.decode(errors="replace")


@dataclass(frozen=True)
class ActivationOutcome:
    """One run of TOP/activate ACTION on a host: its exit code and its combined output."""

    exit_code: int
    output: str

    @property
    def lines(self) -> list[str]:
        return self.output.splitlines()


class Host(ABC):
    """A machine declos manages. Subclasses provide `run`, `open_channel` and `close`.

    `root` is the physical root under which the declos store and the managed tree live
    on the host (None: the host's own /); `python` runs the store agent there."""

    name: str
    root: str | None = None
    python: str = "python3"

    @abstractmethod
    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        """Run argv (never a shell string) to completion.

        Raises CommandFailed (with `.result`) when `check` and it exits non-zero,
        CommandTimeout after `timeout` seconds, HostUnreachable without a session."""

    @abstractmethod
    def open_channel(self, argv: Sequence[str], *, idle_timeout: float = 300.0) -> Channel:
        """Start argv and return its stdin/stdout as a stream (for long transfers).

        Reads and writes raise CommandTimeout after `idle_timeout` seconds without progress."""

    @abstractmethod
    def close(self) -> None:
        """Drop the connection (if any); the next call opens a new one."""

    # ---- files ------------------------------------------------------------------------
    def put(
        self,
        data: bytes,
        path: str,
        *,
        mode: int = 0o644,
        owner: str | None = None,
        group: str | None = None,
    ) -> None:
        """Write `data` to `path` atomically (temp file in the same directory, then rename),
        with `mode` and, if given, `owner`/`group` set before the rename."""
        owner_spec = (owner or "") + (f":{group}" if group else "")
        self.run(["sh", "-c", _PUT, "declos-put", path, f"{mode:o}", owner_spec], input=data)

    def get(self, path: str) -> bytes:
        """The contents of `path` (CommandFailed if it cannot be read)."""
        return self.run(["cat", "--", path]).stdout

    # ---- closures -----------------------------------------------------------------------
    def store_remote(self) -> Remote:
        """This host as the target of the store's copy protocol."""
        return Remote(open=self.open_channel, label=self.name, root=self.root, python=self.python)

    def copy_closure_to(
        self,
        store: Store,
        paths: Iterable[str],
        *,
        compress: bool = False,
        progress: Callable[[str], None] | None = None,
        on_missing: Callable[[int], None] | None = None,
    ) -> CopyStats:
        """Copy the closure of `paths` from `store` into this host's store.

        One query round trip for the whole closure, then only the missing paths, in
        dependency order, over one channel; `progress(path)` after each is registered
        there; `on_missing(n)` once, with how many will be sent."""
        report = None if progress is None else _per_path(progress)
        return push_closure(
            store,
            list(paths),
            self.store_remote(),
            compress=compress,
            progress=report,
            on_missing=on_missing,
        )

    def copy_closure_from(
        self,
        store: Store,
        paths: Iterable[str],
        *,
        progress: Callable[[str], None] | None = None,
    ) -> CopyStats:
        """Fetch the closure of `paths` from this host's store into `store`."""
        report = None if progress is None else _per_path(progress)
        return pull_closure(store, list(paths), self.store_remote(), progress=report)

    # ---- activation ---------------------------------------------------------------------
    def activate(
        self,
        toplevel: str,
        action: str,
        *,
        args: Sequence[str] = (),
        timeout: float = ACTIVATION_TIMEOUT,
    ) -> ActivationOutcome:
        """Run TOPLEVEL/activate ACTION on the host; never raises on its exit code."""
        argv = ["sh", "-c", _COMBINED, "sh", f"{toplevel}/activate", action, *args]
        result = self.run(argv, timeout=timeout, check=False)
        return ActivationOutcome(result.returncode, result.stdout.decode(errors="replace"))

    # ---- context manager ----------------------------------------------------------------
    def __enter__(self) -> Host:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _per_path(progress: Callable[[str], None]) -> Callable[[str, int, int], None]:
    def report(path: str, _n: int, _total: int) -> None:
        progress(path)

    return report


def command_line(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """argv as one shell-quoted line (what an SSH exec request carries); env via env(1)."""
    words = list(argv)
    if env:
        words = ["env", *(f"{k}={v}" for k, v in checked_env(env).items()), *words]
    return shlex.join(words)


def checked_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` after checking every name is a plain variable name (no `=`, no spaces)."""
    for name in env:
        if not _ENV_NAME.fullmatch(name):
            raise InvalidCommand(
                f"environment variable name {name!r} is not [A-Za-z_][A-Za-z0-9_]*"
            )
    return dict(env)
