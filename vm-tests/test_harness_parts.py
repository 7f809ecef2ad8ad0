"""Fast checks of the harness's parts with real tools (no VM booted)."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import paramiko
import pytest

from declos.config import evaluate
from declos.testing.errors import GuestHang, MachineError
from declos.testing.leaks import destroy_domains_under
from declos.testing.log import ActionLog
from declos.testing.machine import Machine
from declos.testing.spec import MachineSpec
from declos.virt import guest_files
from declos.virt.domain import DiskSpec, DomainSpec, LanNic
from declos.virt.image import ImageRecipe, find_cached, host_apt_sources
from declos.virt.libvirt_domain import domain_xml, open_connection
from declos.virt.qemu import QemuDomain, qemu_argv
from declos.virt.seed import LanAddress, Seed
from declos.virt.ssh_keys import KeyPair, known_hosts_line
from declos.virt.vde import VdeRelay, VdeSwitch

pytest_plugins = ("pytester",)


def _spec(tmp: Path) -> DomainSpec:
    return DomainSpec(
        name="declos-t1-web",
        memory_mib=768,
        vcpus=2,
        kernel=tmp / "vmlinuz",
        initrd=tmp / "initrd.img",
        cmdline=DomainSpec.default_cmdline(),
        disks=[
            DiskSpec(tmp / "root.qcow2", "root"),
            DiskSpec(tmp / "seed.img", "declos-seed", "raw", True),
            DiskSpec(tmp / "extra0.qcow2", "extra0"),
        ],
        ssh_port=40022,
        console_log=tmp / "console.log",
        workdir=tmp,
        lan_nics=[LanNic("lan0", "52:54:00:12:01:02", tmp / "lan.sock")],
    )


def test_libvirt_xml_is_tcg_with_loopback_only_networking(tmp_path: Path) -> None:
    root = ET.fromstring(domain_xml(_spec(tmp_path)))
    assert root.get("type") == "qemu"
    assert root.findtext("name") == "declos-t1-web"
    assert root.find("memory").text == "768" and root.find("memory").get("unit") == "MiB"
    assert root.findtext("os/kernel") == str(tmp_path / "vmlinuz")
    assert root.findall("devices/interface") == []
    disks = root.findall("devices/disk")
    assert [d.find("target").get("dev") for d in disks] == ["vda", "vdb", "vdc"]
    assert [d.findtext("serial") for d in disks] == ["root", "declos-seed", "extra0"]
    assert disks[1].find("readonly") is not None and disks[1].find("driver").get("type") == "raw"
    ns = "{http://libvirt.org/schemas/domain/qemu/1.0}"
    args = [a.get("value") for a in root.iter(f"{ns}arg")]
    assert "user,id=uplink,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22" in args
    assert any("addr=0x10" in a and "netdev=uplink" in a for a in args)
    assert any(a.startswith("stream,id=lan0-net,server=off,addr.type=unix,") for a in args)
    assert any("id=lan0" in a and "addr=0x11" in a and "52:54:00:12:01:02" in a for a in args)
    label = root.find("seclabel")
    assert label.get("model") == "dac" and label.findtext("label") == "+0:+0"


def test_qemu_argv_matches_the_same_hardware(tmp_path: Path) -> None:
    argv = qemu_argv(_spec(tmp_path), tmp_path / "qmp.sock", tmp_path / "pid")
    assert argv[argv.index("-accel") + 1] == "tcg"
    assert argv[argv.index("-append") + 1].startswith("root=/dev/vda rw console=ttyS0")
    assert "virtio-blk-pci,drive=drive1,serial=declos-seed" in argv
    assert any(a.endswith(",format=raw,readonly=on") for a in argv)
    assert "user,id=uplink,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22" in argv
    assert not any("bridge" in a or "tap" in a for a in argv)


def test_seed_image_carries_the_identity(tmp_path: Path) -> None:
    host = KeyPair.generate("root@web")
    seed = Seed(
        "web",
        host,
        "ssh-ed25519 AAAAC3Nza client",
        [LanAddress("52:54:00:12:01:02", "192.168.1.2/24")],
        {"db": "192.168.1.1"},
    )
    image = seed.build(tmp_path / "seed.img")

    def cat(path: str) -> str:
        return subprocess.run(
            ["debugfs", "-R", f"cat {path}", str(image)], capture_output=True, text=True, check=True
        ).stdout

    assert cat("/seed-id").strip() == seed.seed_id()
    assert cat("/tree/etc/hostname") == "web\n"
    assert cat("/tree/etc/hosts").splitlines()[-1] == "192.168.1.1 db"
    assert cat("/tree/etc/ssh/ssh_host_ed25519_key") == host.private_openssh
    assert "Address=192.168.1.2/24" in cat("/tree/etc/systemd/network/20-lan0.network")
    stat = subprocess.run(
        ["debugfs", "-R", "stat /tree/etc/ssh/ssh_host_ed25519_key", str(image)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Mode:  0600" in stat
    other = Seed("web", host, "ssh-ed25519 AAAAC3Nza other")
    assert other.seed_id() != seed.seed_id()


def test_keys_load_in_paramiko_and_known_hosts_format(tmp_path: Path) -> None:
    pair = KeyPair.generate("c")
    pair.write(tmp_path / "id")
    assert (tmp_path / "id").stat().st_mode & 0o777 == 0o600
    key = paramiko.Ed25519Key.from_private_key_file(str(tmp_path / "id"))
    assert pair.public_key_only == f"ssh-ed25519 {key.get_base64()}"
    assert known_hosts_line("127.0.0.1", 2222, pair) == f"[127.0.0.1]:2222 {pair.public_key_only}\n"
    assert known_hosts_line("h", 22, pair) == f"h {pair.public_key_only}\n"


def test_image_key_follows_the_recipe() -> None:
    base = ImageRecipe()
    assert base.key() == ImageRecipe().key()
    assert base.key().startswith("debian-bookworm-amd64-")
    assert ImageRecipe(extra_packages=("curl",)).key() != base.key()
    assert ImageRecipe(size_mib=8192).key() != base.key()
    assert "Suites: bookworm" in host_apt_sources("bookworm")
    with pytest.raises(Exception, match="no enabled apt source for Debian 'nosuchsuite'"):
        host_apt_sources("nosuchsuite")


def test_harness_sshd_hardening_wins_over_the_openssh_module(tmp_path: Path) -> None:
    """A guest switched to a declos system carries both drop-ins; the real sshd must keep
    the harness's values, since it takes the first value it reads in lexical file order."""
    conf_d = tmp_path / "sshd_config.d"
    conf_d.mkdir()
    harness_path = guest_files.SSHD_CONFIG
    assert harness_path.startswith("/etc/ssh/sshd_config.d/")
    (conf_d / Path(harness_path).name).write_text(guest_files.base_files()[harness_path][0])
    machine = tmp_path / "machine.yaml"
    machine.write_text("services.openssh.enable: true\n")
    ev = evaluate([machine])
    assert ev.value("services.openssh.settings.PasswordAuthentication") is True
    sshd = ev.value("environment.etc")["ssh/sshd_config.d/10-declos.conf"]["source"]
    (conf_d / "10-declos.conf").write_text(sshd.env["text"])  # the module's pkgs.write_text
    main = tmp_path / "sshd_config"
    main.write_text(f"Include {conf_d}/*.conf\n")  # Debian's sshd_config starts this way
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "hk")], check=True
    )
    out = subprocess.run(
        ["/usr/sbin/sshd", "-T", "-f", str(main), "-h", str(tmp_path / "hk")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    effective = dict(line.split(" ", 1) for line in out.splitlines())
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["permitrootlogin"] == "without-password"
    assert effective["usedns"] == "no"
    assert effective["port"] == "22"


def test_only_a_complete_cache_entry_counts(tmp_path: Path) -> None:
    recipe = ImageRecipe()
    images = tmp_path / "images"
    partial = images / f".{recipe.key()}.tmp-abc" / "out"
    partial.mkdir(parents=True)
    (partial / "root.qcow2").write_text("half")
    (partial / "manifest.json").write_text('{"key": "x"}')
    assert find_cached(recipe, tmp_path) is None  # a build in progress is invisible
    final = images / recipe.key()
    final.mkdir()
    (final / "root.qcow2").write_text("no manifest yet")
    assert find_cached(recipe, tmp_path) is None  # no manifest: not complete
    (final / "manifest.json").write_text(f'{{"key": "{recipe.key()}"}}')
    found = find_cached(recipe, tmp_path)
    assert found is not None and found.disk == final / "root.qcow2"
    assert found.kernel == final / "vmlinuz" and found.key == recipe.key()


def test_machine_spec_rejects_bad_declarations() -> None:
    with pytest.raises(ValueError, match="use lowercase letters"):
        MachineSpec("Web_1")
    with pytest.raises(ValueError, match="runner 'kvm' is not one of libvirt, qemu"):
        MachineSpec("web", runner="kvm")
    with pytest.raises(ValueError, match="LAN 300 is outside 1-254"):
        MachineSpec("web", lans=(300,))


def _recv_frame(sock: socket.socket) -> bytes:
    header = b""
    while len(header) < 4:
        header += sock.recv(4 - len(header))
    (size,) = struct.unpack(">I", header)
    data = b""
    while len(data) < size:
        data += sock.recv(size - len(data))
    return data


def test_vde_relays_carry_frames_between_two_stream_clients(tmp_path: Path) -> None:
    switch = VdeSwitch(tmp_path / "sw")
    switch.start()
    relays = [VdeRelay(switch.directory, tmp_path / f"r{i}.sock") for i in range(2)]
    try:
        for relay in relays:
            relay.start()
        clients = []
        for relay in relays:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(10)
            sock.connect(str(relay.listen_path))
            clients.append(sock)
        time.sleep(0.5)
        frame = b"\xff" * 6 + b"\x52\x54\x00\x00\x00\x01\x08\x00" + b"x" * 50
        clients[0].sendall(struct.pack(">I", len(frame)) + frame)
        assert _recv_frame(clients[1]) == frame
        # A new client on the same relay (a restarted QEMU) is served too.
        clients[1].close()
        again = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        again.settimeout(10)
        again.connect(str(relays[1].listen_path))
        time.sleep(0.5)
        clients[0].sendall(struct.pack(">I", len(frame)) + frame)
        assert _recv_frame(again) == frame
        again.close()
        clients[0].close()
    finally:
        for relay in relays:
            relay.stop()
        switch.stop()


def test_a_killed_session_leaves_no_switch_or_plug_behind(tmp_path: Path) -> None:
    script = (
        "import os, sys; from pathlib import Path\n"
        "from declos.virt.vde import VdeRelay, VdeSwitch\n"
        f"s = VdeSwitch(Path({str(tmp_path / 'sw')!r})); s.start()\n"
        f"r = VdeRelay(s.directory, Path({str(tmp_path / 'r.sock')!r})); r.start()\n"
        "print(s.pid, r._plug.pid, flush=True); os._exit(0)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    pids = [int(p) for p in out]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        Path(f"/proc/{p}").exists() and "Z" not in _state(p) for p in pids
    ):
        time.sleep(0.1)
    assert [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)] == []


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, IndexError):
        return "Z"


def test_hang_since_reports_only_kernel_stalls_printed_after_the_mark(tmp_path: Path) -> None:
    """The guest-hang check that lets a fixture start over (vm-tests/system_support.py):
    it must see a stall printed after the mark, and nothing older or unrelated."""
    spec = _spec(tmp_path)
    old = "[    1.000000] watchdog: BUG: soft lockup - CPU#0 stuck for 30s! [x:1]"
    spec.console_log.write_text(old + "\n")
    machine = Machine(
        MachineSpec("web"),
        QemuDomain(spec),
        spec.ssh_port,
        tmp_path / "id",
        tmp_path / "known_hosts",
        [],
        ActionLog(),
    )
    mark = machine.console_mark()
    assert machine.hang_since(mark) is None
    with open(spec.console_log, "a") as handle:
        handle.write("[    2.000000] systemd[1]: Started sshd.service.\r\n")
    assert machine.hang_since(mark) is None
    with open(spec.console_log, "a") as handle:
        handle.write(
            "[  284.610763] watchdog: BUG: soft lockup - CPU#0 stuck for 187s! [sshd:281]\r\n"
        )
    assert machine.hang_since(mark) == (
        "[  284.610763] watchdog: BUG: soft lockup - CPU#0 stuck for 187s! [sshd:281]"
    )
    assert machine.hang_since(0) == old
    machine._since = machine.console_mark()  # as after a restore: older stalls do not count
    assert not isinstance(machine._hang_or(MachineError("lost")), GuestHang)
    machine._since = mark
    hang = machine._hang_or(MachineError("sys: connection lost"))
    assert isinstance(hang, GuestHang)
    assert str(hang) == (
        "web: the guest kernel hung: [  284.610763] watchdog: BUG: soft lockup - CPU#0 stuck "
        "for 187s! [sshd:281]\nsys: connection lost"
    )


def test_a_vm_test_ended_by_a_guest_hang_runs_once_more_and_nothing_else_does(
    pytester: pytest.Pytester,
) -> None:
    """The plugin marks VM tests to re-run once on GuestHang only (pytest-rerunfailures):
    a hang followed by a pass passes; any other failure fails at once."""
    pytester.makeconftest(
        "from declos.testing.plugin import *  # noqa: F401,F403\n"
        "import pytest\n"
        "@pytest.fixture\n"
        "def vm_driver():\n"
        "    return None\n"
    )
    pytester.makepyfile(
        test_inner=f"""
from pathlib import Path
from declos.testing.errors import GuestHang, MachineError
from declos.testing.leaks import destroy_domains_under

COUNT = Path({str(pytester.path / "count")!r})

def test_hangs_then_passes(vm_driver):
    runs = int(COUNT.read_text()) if COUNT.exists() else 0
    COUNT.write_text(str(runs + 1))
    if runs == 0:
        raise GuestHang("sys: the guest kernel hung: watchdog: BUG: soft lockup - CPU#0")

def test_other_failure_is_not_rerun(vm_driver):
    raise MachineError("sys: SSH did not come up within 300 s")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("failed"), outcomes.get("rerun")) == (1, 1, 1)
    assert (pytester.path / "count").read_text() == "2"


def _define_stopped(conn: object, name: str, disk: Path) -> None:
    conn.defineXML(  # type: ignore[attr-defined]
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>"
        "<os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'>"
        f"<source file='{disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>"
    )


def test_leaked_domains_of_this_session_and_only_those_are_destroyed(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A domain a test's `declos create` left behind (its disk under the session's base
    temporary directory) is destroyed; the Driver's own (declos-t...) and any domain
    outside this session are left alone."""
    base = tmp_path_factory.getbasetemp()
    conn = open_connection()
    ours, drivers = "declos-0leak0ed-web", "declos-t1-leakcheck"
    sibling = f"declos-0leak0ed-sibling-{tmp_path.name}"
    outside = Path(f"{base}-sibling") / "disk.qcow2"  # a prefix of base, not inside it
    try:
        _define_stopped(conn, ours, tmp_path / "vms" / "web.qcow2")
        _define_stopped(conn, drivers, tmp_path / "machines" / "root.qcow2")
        _define_stopped(conn, sibling, outside)
        assert destroy_domains_under(base) == [ours]
        names = {d.name() for d in conn.listAllDomains()}
        assert ours not in names
        assert {drivers, sibling} <= names
        assert destroy_domains_under(base) == []
    finally:
        for name in (ours, drivers, sibling):
            if name in {d.name() for d in conn.listAllDomains()}:
                conn.lookupByName(name).undefine()
        conn.close()
