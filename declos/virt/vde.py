"""Virtual LANs between VMs: a `vde_switch` hub on a unix socket directory.

Debian's QEMU is built without the `vde` netdev, so each VM NIC reaches the switch
through a small relay: QEMU connects a `-netdev stream` (unix socket, frames prefixed
by a 4-byte big-endian length) to the relay's listening socket, and the relay speaks to
the switch through `vde_plug` (stdin/stdout, frames prefixed by a 2-byte big-endian
length). The relay accepts again after QEMU exits, so a VM can be stopped, crashed and
started on the same port. Nothing here touches host networking: no tap, no bridge.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from declos.virt.errors import VirtError


class VdeSwitch:
    """One `vde_switch --hub`; the LAN every member NIC is plugged into.

    It runs in the foreground as our child with its console on a pipe we hold: when this
    process exits for any reason the pipe closes and the switch exits on EOF, so a killed
    test run leaves no switch behind.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 10.0) -> None:
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        log = self.directory.parent / (self.directory.name + ".log")
        with open(log, "ab") as stderr:
            self._proc = subprocess.Popen(
                ["vde_switch", "--sock", str(self.directory), "--hub", "--dirmode", "0700"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = log.read_text(errors="replace").strip()
                raise VirtError(f"vde_switch exited with {self._proc.returncode}: {err}")
            if (self.directory / "ctl").exists():
                return
            time.sleep(0.05)
        self.stop()
        raise VirtError(f"vde_switch did not create {self.directory}/ctl within {timeout} s")

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.stdin is not None:
            self._proc.stdin.close()  # EOF on its console: it cleans up and exits
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        self._proc = None


class VdeRelay:
    """Joins one QEMU stream netdev socket to a VDE switch (see the module docstring)."""

    def __init__(self, switch_dir: Path, listen_path: Path) -> None:
        self.switch_dir = switch_dir
        self.listen_path = listen_path
        self._plug: subprocess.Popen[bytes] | None = None
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.listen_path.unlink(missing_ok=True)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.listen_path))
        self._listener.listen(1)
        self._plug = subprocess.Popen(
            ["vde_plug", str(self.switch_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(
            target=self._serve, name=f"vde-relay-{self.listen_path.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        if self._plug is not None:
            self._plug.kill()
            self._plug.wait()
            self._plug = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.listen_path.unlink(missing_ok=True)

    def _serve(self) -> None:
        assert self._listener is not None and self._plug is not None
        plug_out = self._plug.stdout
        plug_in = self._plug.stdin
        assert plug_out is not None and plug_in is not None
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ, "accept")
        sel.register(plug_out, selectors.EVENT_READ, "plug")
        conn: socket.socket | None = None
        from_qemu = b""
        from_plug = b""
        while not self._stop.is_set():
            try:
                events = sel.select(timeout=0.5)
            except (OSError, ValueError):
                return
            for key, _ in events:
                if key.data == "accept":
                    try:
                        new, _ = self._listener.accept()
                    except OSError:
                        return
                    if conn is not None:
                        sel.unregister(conn)
                        conn.close()
                    conn, from_qemu = new, b""
                    sel.register(conn, selectors.EVENT_READ, "qemu")
                elif key.data == "qemu":
                    assert conn is not None
                    data = b""
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        pass
                    if not data:
                        sel.unregister(conn)
                        conn.close()
                        conn = None
                        continue
                    from_qemu += data
                    while len(from_qemu) >= 4:
                        (size,) = struct.unpack(">I", from_qemu[:4])
                        if len(from_qemu) < 4 + size:
                            break
                        frame, from_qemu = from_qemu[4 : 4 + size], from_qemu[4 + size :]
                        try:
                            plug_in.write(struct.pack(">H", len(frame)) + frame)
                            plug_in.flush()
                        except OSError:
                            return
                else:
                    data = os.read(plug_out.fileno(), 65536)
                    if not data:
                        return
                    from_plug += data
                    while len(from_plug) >= 2:
                        (size,) = struct.unpack(">H", from_plug[:2])
                        if len(from_plug) < 2 + size:
                            break
                        frame, from_plug = from_plug[2 : 2 + size], from_plug[2 + size :]
                        if conn is not None:
                            try:
                                conn.sendall(struct.pack(">I", len(frame)) + frame)
                            except OSError:
                                pass
