"""Machine: the NixOS test-driver API over one VM, its SSH host and its LAN NICs.

The VM is reached through declos's own host layer (`machine.host` is a
declos.hosts.SSHHost on the forwarded port, with the harness's strict known_hosts),
so tests copy closures and activate them through exactly the calls deploy makes.

Each public action is logged with its duration (declos.testing.log). Every wait has a
finite timeout and fails with a MachineError/WaitTimeout whose message ends with the last
lines of the serial console; succeed/fail raise CommandFailed (an AssertionError) with
the exit code, stdout and stderr.
"""

from __future__ import annotations

import io
import shlex
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from declos.hosts import (
    CommandResult,
    CommandTimeout,
    HostKeyMismatch,
    HostUnreachable,
    OpenSSHKnownHosts,
    SSHHost,
    UnknownHostKey,
)
from declos.hosts.base import DEFAULT_TIMEOUT
from declos.hosts.ssh import SSHChannel, banner_ready
from declos.testing.errors import CommandFailed, GuestHang, MachineError, WaitTimeout
from declos.testing.log import ActionLog
from declos.testing.network import Membership
from declos.testing.spec import MachineSpec
from declos.virt.domain import Domain, clean_console_line

if TYPE_CHECKING:
    from testinfra.host import Host as TestinfraHost

BOOT_TIMEOUT = 300.0
WAIT_TIMEOUT = 300.0
COMMAND_TIMEOUT = 600.0
CONSOLE_LINES = 40
# What a guest kernel prints when its CPUs stopped making progress (seen under TCG after a
# snapshot restore: both vCPUs stalled for minutes, SSH dead). Such a guest does not recover.
HANG_MARKERS = ("soft lockup - CPU#", "self-detected stall on CPU", "rcu_preempt kthread starved")


class VMHost(SSHHost):
    """The SSHHost of a test VM: before each use, the driver lets the VM run (it may have
    paused it to keep at most N VMs running on two cores)."""

    def __init__(self, before_use: Callable[[], None], **kwargs: object) -> None:
        super().__init__("127.0.0.1", **kwargs)  # type: ignore[arg-type]
        self._before_use = before_use

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        self._before_use()
        return super().run(argv, input=input, timeout=timeout, check=check, env=env)

    def open_channel(self, argv: Sequence[str], *, idle_timeout: float = 300.0) -> SSHChannel:
        self._before_use()
        return super().open_channel(argv, idle_timeout=idle_timeout)


class Machine:
    """One test VM (see docs/vm-harness.md for the full API)."""

    def __init__(
        self,
        spec: MachineSpec,
        domain: Domain,
        ssh_port: int,
        identity_file: Path,
        known_hosts: Path,
        lans: list[Membership],
        log: ActionLog,
        activate: Callable[[Machine], None] = lambda _m: None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.domain = domain
        self.lans = lans
        self.log = log
        self._activate = activate
        self.identity_file = identity_file
        self.known_hosts = known_hosts
        self.host = VMHost(
            lambda: self._activate(self),
            port=ssh_port,
            user="root",
            key_file=identity_file,
            known_hosts=OpenSSHKnownHosts(known_hosts),
            name=spec.name,
        )
        self._testinfra: TestinfraHost | None = None
        self.snapshots: set[str] = set()
        self._since = 0  # console position at the last boot or restore, for hang checks

    # ---- facts -----------------------------------------------------------------------
    @property
    def ssh_port(self) -> int:
        return self.host.port

    def lan_address(self, vlan: int) -> str:
        """This machine's address on LAN `vlan` (no prefix length)."""
        for member in self.lans:
            if member.vlan == vlan:
                return member.address
        raise MachineError(
            f"{self.name} is not on LAN {vlan} (it is on {[m.vlan for m in self.lans] or 'no LAN'})"
        )

    @property
    def testinfra(self) -> TestinfraHost:
        """A testinfra host bound to this VM (its commands go through `self.host`)."""
        if self._testinfra is None:
            from declos.testing.testinfra_host import testinfra_host

            self._testinfra = testinfra_host(self)
        return self._testinfra

    def console_log(self) -> str:
        """Everything the serial console printed since the machine was created."""
        try:
            return self.domain.spec.console_log.read_text(errors="replace").replace("\r", "")
        except FileNotFoundError:
            return ""

    def console_mark(self) -> int:
        """A position in the console log, for `hang_since`: the log outlives snapshot restores."""
        try:
            return self.domain.spec.console_log.stat().st_size
        except FileNotFoundError:
            return 0

    def hang_since(self, mark: int) -> str | None:
        """The first guest-kernel hang report printed after `mark`, or None.

        Lets a fixture tell a hung guest (start over from a snapshot) from a failure of the
        code under test (which must fail the test)."""
        try:
            with open(self.domain.spec.console_log, "rb") as handle:
                handle.seek(mark)
                text = handle.read().decode(errors="replace")
        except FileNotFoundError:
            return None
        for line in text.splitlines():
            if any(marker in line for marker in HANG_MARKERS):
                return clean_console_line(line)
        return None

    def _hang_or(self, error: MachineError) -> MachineError:
        """`error`, or a GuestHang carrying it when the kernel reported stalled CPUs since
        the last boot or restore: a lost connection then says why it was lost."""
        hang = self.hang_since(self._since)
        if hang is None:
            return error
        return GuestHang(f"{self.name}: the guest kernel hung: {hang}\n{error}")

    def _diagnose(self, message: str) -> str:
        state = "running" if self.domain.is_running() else "not running"
        return (
            f"{self.name}: {message}\n--- VM is {state}; last {CONSOLE_LINES} lines of "
            f"the serial console ({self.domain.spec.console_log}) ---\n"
            f"{self.domain.console_tail(CONSOLE_LINES)}"
        )

    # ---- power -----------------------------------------------------------------------
    def is_up(self) -> bool:
        return self.domain.is_running()

    def start(self) -> None:
        """Power the VM on; returns at once (use wait_for_ssh, or any command)."""
        with self.log.nested(f"{self.name}: starting ({self.spec.runner})"):
            self._activate(self)
            if not self.domain.is_running():
                self._since = self.console_mark()
                self.domain.start()

    def wait_for_ssh(self, timeout: float = BOOT_TIMEOUT) -> None:
        """Wait until root can log in over SSH with the harness key and checked host key."""
        if self.host.connected:
            return
        with self.log.nested(f"{self.name}: waiting for SSH on 127.0.0.1:{self.ssh_port}"):
            self._activate(self)
            deadline = time.monotonic() + timeout
            last_error = "no SSH banner yet"
            while time.monotonic() < deadline:
                if not self.domain.is_running():
                    raise MachineError(
                        self._diagnose("the VM stopped while waiting for SSH (start() it first?)")
                    )
                if banner_ready("127.0.0.1", self.ssh_port):
                    self.host.connect_timeout = min(10.0, max(3.0, deadline - time.monotonic()))
                    try:
                        self.host.connect()
                        return
                    except (HostKeyMismatch, UnknownHostKey) as exc:
                        raise MachineError(self._diagnose(f"SSH host key rejected: {exc}")) from exc
                    except HostUnreachable as exc:  # booting: sshd or the key not there yet
                        last_error = f"{type(exc).__name__}: {exc}"
                time.sleep(1.0)
            raise self._hang_or(
                WaitTimeout(
                    self._diagnose(
                        f"SSH did not come up within {timeout:.0f} s (last error: {last_error})"
                    )
                )
            )

    def shutdown(self, timeout: float = 120.0) -> None:
        """`systemctl poweroff` in the guest, wait; pull the plug if it takes too long."""
        with self.log.nested(f"{self.name}: shutting down"):
            if not self.domain.is_running():
                return
            self._activate(self)
            if self.host.connected:
                try:
                    self.host.run(["systemctl", "--no-block", "poweroff"], timeout=30, check=False)
                except (CommandTimeout, HostUnreachable):
                    pass
            else:
                self.domain.request_shutdown()
            self.host.close()
            if not self.domain.wait_stopped(timeout):
                self.log.line(f"{self.name}: no clean shutdown after {timeout:.0f} s; powering off")
                self.domain.power_off()

    def crash(self) -> None:
        """Power off at once, like pulling the plug (no guest shutdown, no flush)."""
        with self.log.nested(f"{self.name}: crashing (hard power off)"):
            self.host.close()
            self.domain.power_off()

    def boot_id(self) -> str:
        return self.succeed("cat /proc/sys/kernel/random/boot_id").strip()

    def reboot(self, timeout: float = BOOT_TIMEOUT) -> None:
        """Reboot through systemd and wait until SSH answers with a new boot id."""
        with self.log.nested(f"{self.name}: rebooting"):
            old = self.boot_id()
            try:
                self.host.run(["systemctl", "--no-block", "reboot"], timeout=30, check=False)
            except (CommandTimeout, HostUnreachable):
                pass
            self.host.close()
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(
                        self._diagnose(f"no new boot within {timeout:.0f} s (boot id still {old})")
                    )
                self.wait_for_ssh(timeout=remaining)
                try:
                    new = self.host.run(["cat", "/proc/sys/kernel/random/boot_id"], timeout=30)
                    new_id = new.text.strip()
                except (CommandTimeout, HostUnreachable):
                    new_id = old
                if new_id != old:
                    self.log.line(f"{self.name}: boot id {old} -> {new_id}")
                    return
                self.host.close()
                time.sleep(1.0)

    # ---- commands --------------------------------------------------------------------
    def _connected(self) -> None:
        self._activate(self)
        if not self.host.connected:
            self.wait_for_ssh()

    def _run(self, command: str, timeout: float) -> tuple[int, str, str]:
        """Run `command` under bash; (status, stdout, stderr); MachineError on timeout or
        a lost connection (with the console tail)."""
        self._connected()
        try:
            r = self.host.run(["bash", "-c", command], timeout=timeout, check=False)
        except CommandTimeout as exc:
            self.host.close()  # the command may still hold the channel; start afresh
            raise self._hang_or(
                MachineError(
                    self._diagnose(f"command {command!r} did not finish within {timeout} s")
                )
            ) from exc
        except HostUnreachable as exc:
            raise self._hang_or(
                MachineError(self._diagnose(f"connection lost while running {command!r}: {exc}"))
            ) from exc
        return r.returncode, r.text, r.stderr.decode(errors="replace")

    def execute(self, command: str, timeout: float = COMMAND_TIMEOUT) -> tuple[int, str]:
        """Run `command` (bash) as root; return (status, stdout). Never raises on status."""
        with self.log.nested(f"{self.name}: executing {command!r}"):
            status, out, _err = self._run(command, timeout)
            return status, out

    def succeed(self, command: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run `command`; return stdout; raise CommandFailed unless it exits 0."""
        with self.log.nested(f"{self.name}: must succeed: {command!r}"):
            status, out, err = self._run(command, timeout)
            if status != 0:
                raise CommandFailed(self.name, command, status, out, err, "0")
            return out

    def fail(self, command: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run `command`; return stdout; raise CommandFailed if it exits 0."""
        with self.log.nested(f"{self.name}: must fail: {command!r}"):
            status, out, err = self._run(command, timeout)
            if status == 0:
                raise CommandFailed(self.name, command, status, out, err, "non-zero")
            return out

    def _retry(
        self,
        what: str,
        check: Callable[[], tuple[bool, str]],
        timeout: float,
        stderr: Callable[[], str] = lambda: "",
    ) -> str:
        """Call `check` once a second until it says done (returning its output);
        WaitTimeout after `timeout`, quoting the last output and the console."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            done, last = check()
            if done:
                return last
            last += stderr()
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    self._diagnose(
                        f"timed out after {timeout:.0f} s waiting for {what}\n"
                        f"--- last output ---\n{last.rstrip()}"
                    )
                )
            time.sleep(1.0)

    def wait_until_succeeds(self, command: str, timeout: float = WAIT_TIMEOUT) -> str:
        """Retry `command` once a second until it exits 0; return its stdout."""
        with self.log.nested(f"{self.name}: waiting for success: {command!r}"):
            err = [""]

            def check() -> tuple[bool, str]:
                status, out, err[0] = self._run(command, min(timeout, COMMAND_TIMEOUT))
                return status == 0, out

            return self._retry(f"{command!r} to succeed", check, timeout, lambda: err[0])

    def wait_until_fails(self, command: str, timeout: float = WAIT_TIMEOUT) -> str:
        """Retry `command` once a second until it exits non-zero; return its stdout."""
        with self.log.nested(f"{self.name}: waiting for failure: {command!r}"):
            err = [""]

            def check() -> tuple[bool, str]:
                status, out, err[0] = self._run(command, min(timeout, COMMAND_TIMEOUT))
                return status != 0, out

            return self._retry(f"{command!r} to fail", check, timeout, lambda: err[0])

    def unit_info(self, unit: str) -> dict[str, str]:
        """`systemctl show UNIT` as a dict."""
        _s, out, _e = self._run(f"systemctl --no-pager show {shlex.quote(unit)}", 60)
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_for_unit(self, unit: str, timeout: float = WAIT_TIMEOUT) -> None:
        """Wait until `unit` is active; fail at once if it failed, does not exist, or is
        inactive with no job queued (it would never become active on its own)."""
        with self.log.nested(f"{self.name}: waiting for unit {unit}"):

            def check() -> tuple[bool, str]:
                info = self.unit_info(unit)
                state = info.get("ActiveState", "?")
                if info.get("LoadState") == "not-found":
                    raise MachineError(self._diagnose(f"unit {unit} does not exist"))
                if state == "inactive" and self._no_job(unit):
                    # The job may have finished between the two queries: look again.
                    state = self.unit_info(unit).get("ActiveState", "?")
                    if state == "active":
                        return True, "ActiveState=active"
                    if state != "inactive":
                        return False, f"ActiveState={state}"
                if state == "inactive" and self._booting():
                    # During boot a target can be seen inactive with its job not yet
                    # (or no longer) listed, just before it activates.
                    return False, "ActiveState=inactive (the system is still starting)"
                if state == "failed" or state == "inactive" and self._no_job(unit):
                    _s, status, _e = self._run(
                        f"systemctl --no-pager status {shlex.quote(unit)}; journalctl "
                        f"--no-pager -n 20 -u {shlex.quote(unit)}",
                        60,
                    )
                    raise MachineError(
                        self._diagnose(
                            f"unit {unit} is {state} (it will not become active by itself)\n"
                            f"{status.rstrip()}"
                        )
                    )
                return state == "active", f"ActiveState={state}"

            self._retry(f"unit {unit} to become active", check, timeout)

    def _booting(self) -> bool:
        _s, out, _e = self._run("systemctl is-system-running", 60)
        return out.strip() in ("initializing", "starting")

    def _no_job(self, unit: str) -> bool:
        _s, out, _e = self._run(f"systemctl list-jobs --no-legend {shlex.quote(unit)}", 60)
        return not out.strip()

    def wait_for_open_port(
        self, port: int, addr: str = "localhost", timeout: float = WAIT_TIMEOUT
    ) -> None:
        """Wait until something in the guest accepts TCP connections on addr:port."""
        with self.log.nested(f"{self.name}: waiting for TCP port {port} on {addr}"):
            cmd = f"nc -z -w 2 {shlex.quote(addr)} {int(port)}"
            self._retry(
                f"port {port} on {addr} to open", lambda: (self._run(cmd, 30)[0] == 0, ""), timeout
            )

    def wait_for_closed_port(
        self, port: int, addr: str = "localhost", timeout: float = WAIT_TIMEOUT
    ) -> None:
        """Wait until nothing in the guest accepts TCP connections on addr:port."""
        with self.log.nested(f"{self.name}: waiting for TCP port {port} on {addr} to close"):
            cmd = f"nc -z -w 2 {shlex.quote(addr)} {int(port)}"
            self._retry(
                f"port {port} on {addr} to close", lambda: (self._run(cmd, 30)[0] != 0, ""), timeout
            )

    def wait_for_file(self, path: str, timeout: float = WAIT_TIMEOUT) -> None:
        """Wait until `path` exists in the guest."""
        with self.log.nested(f"{self.name}: waiting for file {path}"):
            cmd = f"test -e {shlex.quote(path)}"
            self._retry(f"file {path}", lambda: (self._run(cmd, 30)[0] == 0, ""), timeout)

    # ---- files -----------------------------------------------------------------------
    def copy_from_host(self, source: str | Path, target: str) -> None:
        """Copy a host file or directory to `target` in the guest (modes kept)."""
        with self.log.nested(f"{self.name}: copying {source} from the host to {target}"):
            self._connected()
            source = Path(source)
            if source.is_dir():
                buf = io.BytesIO()
                with tarfile.open(fileobj=buf, mode="w") as tar:
                    tar.add(source, arcname=".")
                script = 'mkdir -p -- "$1" && tar -x --no-same-owner -C "$1" -f -'
                self.host.run(["sh", "-c", script, "sh", target], input=buf.getvalue())
            else:
                self.host.put(source.read_bytes(), target, mode=source.stat().st_mode & 0o7777)

    def copy_from_vm(self, source: str, target: str | Path) -> Path:
        """Copy a guest file or directory to `target` on the host; return the host path."""
        with self.log.nested(f"{self.name}: copying {source} from the VM to {target}"):
            self._connected()
            target = Path(target)
            script = 'if [ -d "$1" ]; then tar -C "$1" -cf - .; else exit 100; fi'
            packed = self.host.run(["sh", "-c", script, "sh", source], check=False)
            if packed.returncode == 100:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(self.host.get(source))
                return target
            if packed.returncode != 0:
                raise MachineError(f"{self.name}: cannot copy {source}: {packed.stderr!r}")
            _extract(packed.stdout, target)
            return target

    # ---- LAN -------------------------------------------------------------------------
    def block(self) -> None:
        """Unplug every LAN NIC (the guest sees no carrier); SSH keeps working."""
        with self.log.nested(f"{self.name}: unplugging LAN links"):
            self._activate(self)
            for member in self.lans:
                self.domain.set_link(member.nic.nic_id, False)

    def unblock(self) -> None:
        """Plug the LAN NICs back in."""
        with self.log.nested(f"{self.name}: plugging LAN links back in"):
            self._activate(self)
            for member in self.lans:
                self.domain.set_link(member.nic.nic_id, True)

    # ---- snapshots -------------------------------------------------------------------
    def snapshot(self, name: str) -> None:
        """Save disk and RAM of the running VM inside its overlay (QEMU savevm)."""
        with self.log.nested(f"{self.name}: saving snapshot {name!r}"):
            self._connected()
            self.host.run(["sync"], timeout=120)
            self.host.close()
            self.domain.save_snapshot(name)
            self.snapshots.add(name)

    def restore(self, name: str, timeout: float = BOOT_TIMEOUT) -> None:
        """Return to snapshot `name` (disk and RAM): seconds, instead of a reboot."""
        with self.log.nested(f"{self.name}: restoring snapshot {name!r}"):
            if name not in self.snapshots:
                raise MachineError(
                    f"{self.name}: no snapshot {name!r} (have: {sorted(self.snapshots) or 'none'})"
                )
            self._activate(self)
            self.host.close()
            if not self.domain.is_running():
                raise MachineError(self._diagnose("cannot restore a snapshot of a stopped VM"))
            self._since = self.console_mark()
            self.domain.load_snapshot(name)
            self.wait_for_ssh(timeout)
            # The guest clock resumes at the snapshot's time; bring it to now.
            self.host.run(["date", "-u", "-s", f"@{int(time.time())}"], timeout=60)


def _extract(data: bytes, target: Path) -> None:
    """Unpack a tar from the guest into `target`, refusing members that leave it."""
    target.mkdir(parents=True, exist_ok=True)
    base = target.resolve()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        for member in members:
            dest = (base / member.name).resolve()
            if dest != base and base not in dest.parents or member.isdev():
                raise MachineError(f"refusing tar member {member.name!r} from the guest")
            if member.issym() or member.islnk():
                raise MachineError(f"refusing link {member.name!r} from the guest")
        tar.extractall(base, members=members)
