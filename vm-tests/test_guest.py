"""Starter VM tests on the shared session guest (libvirt runner).

Tests taking `guest` only look; tests taking `fresh_guest` change the VM and the
plugin restores the clean snapshot before the next user.
"""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

import paramiko
import pytest

from declos.hosts import HostKeyMismatch, MemoryKnownHosts, SSHHost, fingerprint
from declos.testing import CommandFailed, Machine, MachineError, WaitTimeout
from declos.testing.plugin import SharedGuest


def test_boot_and_testinfra_checks(guest: Machine) -> None:
    host = guest.testinfra
    assert host.service("ssh").is_running
    assert host.service("ssh").is_enabled
    assert host.socket("tcp://0.0.0.0:22").is_listening
    assert host.file("/usr/bin/python3").is_file
    assert host.run("python3 -c 'import sys; print(sys.version_info[:2])'").stdout == "(3, 11)\n"
    assert host.check_output("hostname") == "guest"
    assert host.system_info.distribution == "debian"
    assert host.system_info.codename == "bookworm"
    assert guest.succeed("systemctl is-active declos-seed.service").strip() == "active"
    assert guest.domain.__class__.__name__ == "LibvirtDomain"


def test_host_key_is_checked_strictly(guest: Machine, tmp_path: Path) -> None:
    known = guest.known_hosts.read_text().split()
    assert known[0] == f"[127.0.0.1]:{guest.ssh_port}"
    served = guest.succeed("cat /etc/ssh/ssh_host_ed25519_key.pub").split()
    assert served[:2] == known[1:3]
    assert guest.host.run(["hostname"]).stdout == b"guest\n"
    # The same port with another key in known_hosts must be refused, by type.
    other = paramiko.Ed25519Key.from_private_key_file(str(guest.identity_file))
    wrong = MemoryKnownHosts()
    wrong.learn("127.0.0.1", guest.ssh_port, other)
    impostor_check = SSHHost(
        "127.0.0.1", guest.ssh_port, key_file=guest.identity_file, known_hosts=wrong
    )
    with pytest.raises(HostKeyMismatch) as info:
        impostor_check.run(["true"])
    assert info.value.expected_fingerprint == fingerprint(other)
    assert info.value.got_fingerprint == fingerprint(
        paramiko.PKey.from_type_string(served[0], base64.b64decode(served[1]))
    )


def test_succeed_fail_execute(guest: Machine) -> None:
    assert guest.succeed("echo out; echo err >&2") == "out\n"
    assert guest.execute("echo x; exit 7") == (7, "x\n")
    assert guest.fail("echo nope; exit 4") == "nope\n"
    with pytest.raises(CommandFailed) as info:
        guest.succeed("echo to-stdout; echo to-stderr >&2; exit 3")
    assert info.value.status == 3
    assert "exited with 3 (expected 0)" in str(info.value)
    assert "to-stdout" in str(info.value) and "to-stderr" in str(info.value)
    with pytest.raises(CommandFailed, match="exited with 0 \\(expected non-zero\\)"):
        guest.fail("true")


def test_failing_wait_shows_the_serial_console(guest: Machine) -> None:
    marker = f"declos-console-marker-{time.time_ns()}"
    guest.succeed(f"echo {marker} > /dev/ttyS0")
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as info:
        guest.wait_for_file("/nonexistent/never", timeout=3)
    assert time.monotonic() - started < 60
    message = str(info.value)
    assert "guest: timed out after 3 s waiting for file /nonexistent/never" in message
    assert "last 40 lines of the serial console" in message
    assert marker in message
    assert marker in guest.console_log()


def test_wait_helpers(fresh_guest: Machine) -> None:
    g = fresh_guest
    g.succeed("systemd-run --unit=declos-listen nc -l -k 127.0.0.1 8080")
    g.wait_for_unit("declos-listen.service", timeout=120)
    g.wait_for_open_port(8080, timeout=120)
    g.succeed("systemctl stop declos-listen.service")
    g.wait_for_closed_port(8080, timeout=120)
    g.succeed("systemd-run --on-active=2 touch /run/declos-later")
    g.wait_for_file("/run/declos-later", timeout=120)
    assert g.wait_until_succeeds("cat /run/declos-later && echo ok", timeout=60) == "ok\n"
    g.wait_until_fails("test -e /run/declos-later && rm /run/declos-later", timeout=60)


def test_wait_for_unit_fails_fast_on_a_failed_unit(fresh_guest: Machine) -> None:
    fresh_guest.execute("systemd-run --unit=declos-broken --property=Type=oneshot /bin/false")
    started = time.monotonic()
    with pytest.raises(MachineError, match=r"unit declos-broken.service is failed"):
        fresh_guest.wait_for_unit("declos-broken.service", timeout=240)
    assert time.monotonic() - started < 120
    with pytest.raises(MachineError, match=r"unit no-such-unit.service does not exist"):
        fresh_guest.wait_for_unit("no-such-unit.service", timeout=240)


def test_copy_between_host_and_vm(fresh_guest: Machine, tmp_path: Path) -> None:
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha\n")
    (src / "sub" / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (src / "sub" / "run.sh").chmod(0o755)
    fresh_guest.copy_from_host(src, "/root/tree")
    assert fresh_guest.succeed("/root/tree/sub/run.sh") == "ran\n"
    fresh_guest.succeed("echo from-vm > /root/tree/b.txt")
    back = fresh_guest.copy_from_vm("/root/tree", tmp_path / "back")
    assert (back / "a.txt").read_text() == "alpha\n"
    assert (back / "b.txt").read_text() == "from-vm\n"
    assert (back / "sub" / "run.sh").read_text() == "#!/bin/sh\necho ran\n"
    fresh_guest.succeed("touch /root/dirty-marker")


def test_graceful_stop_through_the_acpi_button(fresh_guest: Machine) -> None:
    fresh_guest.succeed("touch /root/dirty-marker")
    assert fresh_guest.domain.stop(timeout=180) is True  # True: no hard power-off needed
    assert not fresh_guest.is_up()
    assert "reboot: Power down" in fresh_guest.console_log()


def test_clean_state_is_restored_after_a_disturbing_test(
    guest: Machine, _shared_guest: SharedGuest
) -> None:
    # Earlier tests left /root/tree and /root/dirty-marker and powered the VM off; the
    # snapshot restore before this test must have undone that without booting.
    guest.fail("test -e /root/dirty-marker")
    guest.fail("test -e /root/tree")
    # ... and restored, not rebooted: the boot is the one the snapshot was taken in.
    assert guest.boot_id() == _shared_guest.boot_id
    assert re.fullmatch(r"[0-9a-f-]{36}", _shared_guest.boot_id)
