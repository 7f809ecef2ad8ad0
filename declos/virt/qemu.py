"""The plain-QEMU runner: one qemu-system-x86_64 process per VM, controlled over QMP.

For machines where libvirtd is not wanted. The command line is the one libvirt would
build for the same DomainSpec (same machine type, devices, serials, MACs), so guests
behave identically under both runners.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from declos.virt.domain import DiskSpec, Domain, DomainSpec
from declos.virt.errors import VirtError

QEMU_BINARY = "/usr/bin/qemu-system-x86_64"
_PR_SET_PDEATHSIG = 1


def netdev_args(spec: DomainSpec, pci_base: int = 0x10) -> list[str]:
    """NIC arguments shared by both runners (libvirt passes them via qemu:commandline).

    Explicit PCI slots keep libvirt from placing its own devices on top of them.
    """
    fwd = "".join(f",hostfwd=tcp:127.0.0.1:{h}-:{g}" for h, g in spec.forwards)
    args = [
        "-netdev",
        f"user,id=uplink,restrict=on,hostfwd=tcp:127.0.0.1:{spec.ssh_port}-:22{fwd}",
        "-device",
        f"virtio-net-pci,netdev=uplink,id=uplinknic,mac={spec.uplink_mac},"
        f"bus=pci.0,addr={pci_base:#x}",
    ]
    for index, nic in enumerate(spec.lan_nics, start=1):
        args += [
            "-netdev",
            nic.netdev(),
            "-device",
            f"virtio-net-pci,netdev={nic.nic_id}-net,id={nic.nic_id},mac={nic.mac},"
            f"bus=pci.0,addr={pci_base + index:#x}",
        ]
    return args


def _drive_args(index: int, disk: DiskSpec) -> list[str]:
    ro = ",readonly=on" if disk.readonly else ""
    return [
        "-drive",
        f"file={disk.path},if=none,id=drive{index},format={disk.fmt}{ro}",
        "-device",
        f"virtio-blk-pci,drive=drive{index},serial={disk.serial}",
    ]


def qemu_argv(spec: DomainSpec, qmp_socket: Path, pidfile: Path) -> list[str]:
    argv = [
        QEMU_BINARY,
        "-name",
        spec.name,
        "-machine",
        "pc",
        "-accel",
        "tcg",
        "-m",
        str(spec.memory_mib),
        "-smp",
        str(spec.vcpus),
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-vga",
        "none",
        "-kernel",
        str(spec.kernel),
        "-initrd",
        str(spec.initrd),
        "-append",
        spec.cmdline,
        "-chardev",
        f"file,id=serial0,path={spec.console_log},append=on",
        "-serial",
        "chardev:serial0",
        "-device",
        "virtio-rng-pci",
        "-qmp",
        f"unix:{qmp_socket},server=on,wait=off",
        "-pidfile",
        str(pidfile),
    ]
    if spec.graphics:  # VNC on the loopback, the first free display from :0
        argv[argv.index("-vga") + 1] = "std"
        argv += ["-vnc", "127.0.0.1:0,to=99"]
    for index, disk in enumerate(spec.disks):
        argv += _drive_args(index, disk)
    return argv + netdev_args(spec)


class QmpClient:
    """Just enough QMP: one connection per command, events skipped."""

    def __init__(self, path: Path, timeout: float = 60.0) -> None:
        self.path = path
        self.timeout = timeout

    def execute(self, command: str, arguments: dict[str, object] | None = None) -> object:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            sock.connect(str(self.path))
            reader = sock.makefile("rb")
            self._reply(reader)  # greeting
            sock.sendall(b'{"execute": "qmp_capabilities"}\n')
            self._reply(reader)
            message: dict[str, object] = {"execute": command}
            if arguments:
                message["arguments"] = arguments
            sock.sendall(json.dumps(message).encode() + b"\n")
            reply = self._reply(reader)
        if "error" in reply:
            raise VirtError(f"QMP {command} failed: {reply['error']}")
        return reply.get("return")

    @staticmethod
    def _reply(reader: Any) -> dict[str, object]:
        while True:
            line = reader.readline()
            if not line:
                raise VirtError("QMP connection closed by QEMU")
            message = json.loads(line)
            if "event" not in message:
                return message

    def hmp(self, command_line: str) -> str:
        out = self.execute("human-monitor-command", {"command-line": command_line})
        return str(out or "")


_LIBC = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    """A QEMU we started must not outlive a killed test run (runs in the forked child)."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class QemuDomain(Domain):
    """A VM run as a child qemu-system-x86_64 process."""

    def __init__(self, spec: DomainSpec) -> None:
        self.spec = spec
        self.qmp_socket = spec.workdir / "qmp.sock"
        self.pidfile = spec.workdir / "qemu.pid"
        self._proc: subprocess.Popen[bytes] | None = None
        self.qmp = QmpClient(self.qmp_socket)

    def start(self) -> None:
        if self.is_running():
            raise VirtError(f"{self.spec.name}: already running")
        self.qmp_socket.unlink(missing_ok=True)
        argv = qemu_argv(self.spec, self.qmp_socket, self.pidfile)
        stderr_path = self.spec.workdir / "qemu.stderr"
        with open(stderr_path, "ab") as stderr:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + 30
        while not self.qmp_socket.exists():
            if self._proc.poll() is not None:
                tail = stderr_path.read_text(errors="replace")[-2000:]
                raise VirtError(
                    f"{self.spec.name}: QEMU exited with {self._proc.returncode}:\n{tail}"
                )
            if time.monotonic() > deadline:
                self.power_off()
                raise VirtError(f"{self.spec.name}: QEMU did not open its QMP socket in 30 s")
            time.sleep(0.05)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def request_shutdown(self) -> None:
        if self.is_running():
            try:
                self.qmp.execute("system_powerdown")
            except (OSError, VirtError):
                pass

    def power_off(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait()

    def set_link(self, nic_id: str, up: bool) -> None:
        self.qmp.execute("set_link", {"name": nic_id, "up": up})

    def pause(self) -> None:
        self.qmp.execute("stop")

    def resume(self) -> None:
        self.qmp.execute("cont")

    def is_paused(self) -> bool:
        if not self.is_running():
            return False
        status = self.qmp.execute("query-status")
        return isinstance(status, dict) and status.get("status") == "paused"

    def save_snapshot(self, name: str) -> None:
        _check_hmp(self.spec.name, "savevm", self.qmp.hmp(f"savevm {name}"))

    def load_snapshot(self, name: str) -> None:
        _check_hmp(self.spec.name, "loadvm", self.qmp.hmp(f"loadvm {name}"))

    def undefine(self) -> None:
        self.power_off()

    def console_tail(self, lines: int = 40) -> str:
        """The console, plus QEMU's own complaints when it exited with an error."""
        tail = super().console_tail(lines)
        if self._proc is not None and self._proc.poll() not in (None, 0, -signal.SIGKILL):
            stderr = (self.spec.workdir / "qemu.stderr").read_text(errors="replace").strip()
            if stderr:
                tail += (
                    f"\n--- QEMU exited with {self._proc.returncode}; its stderr ---\n"
                    + "\n".join(stderr.splitlines()[-10:])
                )
        return tail


def _check_hmp(name: str, what: str, output: str) -> None:
    """HMP reports failures only as text; an empty reply means success."""
    if output.strip():
        raise VirtError(f"{name}: {what} failed: {output.strip()}")
