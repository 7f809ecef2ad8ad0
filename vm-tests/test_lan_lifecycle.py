"""Starter VM tests: a second machine under the plain-QEMU runner, on LAN 1 with the
shared libvirt guest; extra disk, LAN reachability and link cuts, reboot, crash."""

from __future__ import annotations

import pytest

from declos.testing import Driver, Machine, MachineSpec
from declos.testing.plugin import machines_fixture

peers = machines_fixture(
    MachineSpec("lanpeer", memory=768, vcpus=2, disks=(64,), lans=(1,), runner="qemu")
)


@pytest.fixture
def peer(peers: dict[str, Machine]) -> Machine:
    return peers["lanpeer"]


def test_peer_runs_under_plain_qemu(peer: Machine) -> None:
    assert peer.domain.__class__.__name__ == "QemuDomain"
    assert peer.testinfra.check_output("hostname") == "lanpeer"
    assert peer.testinfra.service("ssh").is_running
    assert int(peer.succeed("nproc")) == 2
    mem_kib = int(peer.succeed("awk '/MemTotal/ {print $2}' /proc/meminfo"))
    assert 600 * 1024 < mem_kib <= 768 * 1024


def test_extra_disk_is_visible(peer: Machine) -> None:
    assert peer.succeed("lsblk -dn -b -o SERIAL,SIZE /dev/disk/by-id/virtio-extra0").split() == [
        "extra0",
        str(64 * 1024 * 1024),
    ]
    assert peer.succeed("readlink -f /dev/disk/by-id/virtio-extra0").strip() == "/dev/vdc"
    peer.succeed(
        "mkfs.ext4 -q -L extra0 /dev/vdc && mkdir -p /mnt/extra && "
        "mount /dev/vdc /mnt/extra && echo on-extra > /mnt/extra/f && sync"
    )
    assert peer.testinfra.mount_point("/mnt/extra").filesystem == "ext4"


def test_two_machines_reach_each_other_on_the_lan(peer: Machine, guest: Machine) -> None:
    peer_ip, guest_ip = peer.lan_address(1), guest.lan_address(1)
    assert peer_ip != guest_ip and peer_ip.startswith("192.168.1.")
    assert f"inet {peer_ip}/24" in peer.succeed("ip -4 addr show dev eth1")
    guest.succeed(f"ping -c 2 -W 5 {peer_ip}")
    peer.succeed(f"ping -c 2 -W 5 {guest_ip}")
    # TCP across the LAN: the guest serves HTTP, the peer fetches.
    guest.succeed(
        "mkdir -p /srv/lan && echo hello-over-lan > /srv/lan/hello && "
        "systemd-run --unit=declos-lan-http python3 -m http.server 7777 "
        "--directory /srv/lan"
    )
    guest.wait_for_open_port(7777, timeout=120)
    fetch = (
        f'python3 -c "import urllib.request as u; print(u.urlopen('
        f"'http://{guest_ip}:7777/hello', timeout=10).read().decode(), end='')\""
    )
    assert peer.wait_until_succeeds(fetch, timeout=120) == "hello-over-lan\n"
    guest.execute("systemctl stop declos-lan-http.service; rm -rf /srv/lan")


def test_block_cuts_the_lan_link_and_unblock_restores_it(peer: Machine, guest: Machine) -> None:
    guest_ip = guest.lan_address(1)
    peer.block()
    peer.fail(f"ping -c 1 -W 3 {guest_ip}")
    assert "NO-CARRIER" in peer.succeed("ip link show dev eth1")
    peer.succeed("true")  # SSH (user networking) is not affected
    peer.unblock()
    peer.wait_until_succeeds(f"ping -c 1 -W 3 {guest_ip}", timeout=60)


def test_at_most_max_running_vms_run_at_once(
    peer: Machine, guest: Machine, vm_driver: Driver
) -> None:
    saved = vm_driver.max_running
    vm_driver.max_running = 1
    try:
        guest.succeed("true")  # using the guest pauses the least recently used other VM
        assert peer.domain.is_paused() and not guest.domain.is_paused()
        up_before = float(peer.succeed("cut -d' ' -f1 /proc/uptime"))  # resumes the peer
        assert guest.domain.is_paused() and not peer.domain.is_paused()
        assert float(peer.succeed("cut -d' ' -f1 /proc/uptime")) >= up_before
    finally:
        vm_driver.max_running = saved
    guest.succeed("true")
    assert not guest.domain.is_paused() and not peer.domain.is_paused()


def test_reboot_keeps_the_disk(peer: Machine) -> None:
    peer.succeed("echo survives-reboot > /root/persist && sync")
    before = peer.boot_id()
    peer.reboot()
    assert peer.boot_id() != before
    assert peer.succeed("cat /root/persist") == "survives-reboot\n"
    peer.succeed("mount /dev/vdc /mnt/extra")
    assert peer.succeed("cat /mnt/extra/f") == "on-extra\n"
    assert peer.succeed("hostname").strip() == "lanpeer"


def test_crash_then_start_recovers(peer: Machine) -> None:
    peer.succeed("echo before-crash > /root/crash-file && sync")
    before = peer.boot_id()
    peer.crash()
    assert not peer.is_up()
    peer.start()
    peer.wait_for_ssh()
    peer.wait_for_unit("multi-user.target")
    assert peer.boot_id() != before
    assert peer.succeed("cat /root/crash-file") == "before-crash\n"
    assert peer.testinfra.service("ssh").is_running
    # The seed is not re-applied on a restart of the same VM (it was applied once).
    assert "already applied" in peer.succeed("journalctl -b -u declos-seed --no-pager")


def test_shutdown_is_graceful(peer: Machine) -> None:
    peer.shutdown(timeout=180)
    assert not peer.is_up()
    # Only a clean poweroff prints this; the hard power-off fallback would not.
    assert "reboot: Power down" in peer.console_log()


def test_destroy_removes_the_vm_and_its_files(peer: Machine, vm_driver: Driver) -> None:
    workdir = peer.domain.spec.workdir
    assert (workdir / "root.qcow2").is_file() and (workdir / "id_ed25519").is_file()
    vm_driver.destroy(peer)
    assert not workdir.exists()
    assert not peer.is_up()
    assert "lanpeer" not in vm_driver.machines
    assert "reboot: Power down" in peer.console_log()  # the console log is kept
