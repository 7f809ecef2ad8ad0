"""The machine declos runs on, as a Host: commands are child processes.

With a `root`, the host is a tree under that directory (images, tests, `switch --root`):
the store copy protocol targets the store under it, and activation runs the closure's
own activator against it.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence

from declos.hosts.base import DEFAULT_TIMEOUT, ActivationOutcome, CommandResult, Host, checked_env
from declos.hosts.errors import CommandFailed, CommandTimeout, HostUnreachable, InvalidCommand


def host_python() -> str:
    """The host's python3 (what TOP/activate's `/usr/bin/env python3` finds outside a venv)."""
    if os.path.exists("/usr/bin/python3"):
        return "/usr/bin/python3"
    return shutil.which("python3") or "python3"


class ProcessChannel:
    """A local child process as a copy channel (stdin/stdout pipes, stderr collected)."""

    def __init__(self, name: str, argv: Sequence[str], idle_timeout: float) -> None:
        self.name = name
        self.argv = tuple(argv)
        self.idle_timeout = idle_timeout
        try:
            self.proc = subprocess.Popen(
                list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise HostUnreachable(name, 0, f"cannot start {argv[0]!r}: {exc}") from exc
        self._stderr = bytearray()
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()

    def _drain_stderr(self) -> None:
        stream = self.proc.stderr
        if stream is None:
            return
        fd = stream.fileno()
        for chunk in iter(lambda: os.read(fd, 65536), b""):
            self._stderr += chunk

    def sendall(self, data: bytes) -> None:
        if self.proc.stdin is None:
            raise BrokenPipeError("stdin already closed")
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def recv(self, size: int) -> bytes:
        stdout = self.proc.stdout
        if stdout is None:
            return b""
        ready, _w, _x = select.select([stdout], [], [], self.idle_timeout)
        if not ready:
            raise CommandTimeout(self.name, self.argv, self.idle_timeout)
        return os.read(stdout.fileno(), size)

    def shutdown_write(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stderr_text(self) -> str:
        if self.proc.poll() is not None:
            self._stderr_thread.join(timeout=5)
        return bytes(self._stderr).decode(errors="replace")

    def close(self) -> None:
        try:
            self.shutdown_write()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr_thread.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


class LocalHost(Host):
    """This machine (or an OS tree under `root` on it)."""

    def __init__(self, root: str | None = None, *, name: str = "localhost") -> None:
        self.name = name
        self.root = os.path.abspath(root) if root else None
        self.python = host_python()

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        if not argv:
            raise InvalidCommand("empty command")
        full_env = {**os.environ, **checked_env(env or {})}
        try:
            proc = subprocess.run(
                list(argv),
                input=input,
                capture_output=True,
                timeout=timeout,
                env=full_env,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise CommandTimeout(self.name, tuple(argv), timeout) from exc
        except OSError as exc:
            raise HostUnreachable(self.name, 0, f"cannot start {argv[0]!r}: {exc}") from exc
        result = CommandResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
        if check and result.returncode != 0:
            raise CommandFailed(self.name, result)
        return result

    def open_channel(self, argv: Sequence[str], *, idle_timeout: float = 300.0) -> ProcessChannel:
        if not argv:
            raise InvalidCommand("empty command")
        return ProcessChannel(self.name, argv, idle_timeout)

    def close(self) -> None:
        """Nothing to drop: every command is its own process."""

    # ---- activation ---------------------------------------------------------------------
    def activator_command(self, toplevel: str, action: str) -> tuple[list[str], dict[str, str]]:
        """The command that runs TOPLEVEL's own activator; under a root it is reached physically.

        TOP/activator is an absolute (logical) link, valid on the target but not under a
        root prefix, so with a root the activator's lib is located through the link by hand."""
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        if self.root is None:
            return [f"{toplevel}/activate", action], env
        activator = os.readlink(f"{self.root}{toplevel}/activator")
        env["PYTHONPATH"] = f"{self.root}{activator}/lib"
        argv = [self.python, "-P", "-m", "declos.activation", "--system", toplevel]
        return [*argv, "--root", self.root, action], env

    def activate(
        self,
        toplevel: str,
        action: str,
        *,
        args: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT * 3,
    ) -> ActivationOutcome:
        argv, env = self.activator_command(toplevel, action)
        deadline = time.monotonic() + timeout
        try:
            proc = subprocess.run(
                [*argv, *args],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=max(0.0, deadline - time.monotonic()),
            )
        except subprocess.TimeoutExpired as exc:
            raise CommandTimeout(self.name, tuple(argv), timeout) from exc
        return ActivationOutcome(proc.returncode, proc.stdout.decode(errors="replace"))

    def activate_attached(self, toplevel: str, action: str, *, args: Sequence[str] = ()) -> int:
        """Run the activator with this process's terminal (output shown as it happens);
        its exit code. OSError if it cannot be started."""
        argv, env = self.activator_command(toplevel, action)
        return subprocess.run([*argv, *args], env=env).returncode
