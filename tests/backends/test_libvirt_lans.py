"""A libvirt deployment's private LANs, disk size and display, without booting a VM:
seat allocation in the state, the QEMU/libvirt arguments, the grown overlay, refusals.

(Two machines of one deployment pinging each other and a second deployment's machine
that cannot reach them: vm-tests/test_backend_libvirt_lans.py.)
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from declos.deploy.backends import BackendError, MachineContext
from declos.deploy.backends.lans import LANS_ATTR, LanBook, Seat, check_names
from declos.deploy.backends.libvirt import LibvirtBackend
from declos.deploy.state import State
from declos.virt.disks import GIB, create_overlay, virtual_size
from declos.virt.domain import DomainSpec, LanNic
from declos.virt.errors import VirtError
from declos.virt.libvirt_domain import GRAPHICS_XML, domain_xml
from declos.virt.qemu import netdev_args, qemu_argv


class Draws:
    """A random source that answers from a list: collisions on purpose."""

    def __init__(self, values: list[int]) -> None:
        self.values = values

    def randrange(self, start: int, stop: int) -> int:
        value = self.values.pop(0)
        assert start <= value < stop
        return value


def test_machines_of_one_deployment_share_a_lan_other_deployments_get_their_own(
    tmp_path: Path,
) -> None:
    # The second deployment's first draw repeats the first's group and port: redrawn.
    book = LanBook(Draws([7, 9, 41000, 7, 9, 41000, 7, 10, 41000, 200, 3, 55555]))
    with State(tmp_path / "state.db") as state:
        a, b = state.create("a", []), state.create("b", [])
        a1 = book.join(state, a, "a1", ["default"])
        a2 = book.join(state, a, "a2", ["default"])
        b1 = book.join(state, b, "b1", ["default"])
        assert a1 == [Seat("default", "239.255.7.9:41000", 1, 1)]
        assert a2 == [Seat("default", "239.255.7.9:41000", 1, 2)]
        assert b1 == [Seat("default", "239.255.7.10:41000", 1, 1)]
        assert (a2[0].address, a2[0].mac) == ("192.168.1.2", "52:54:00:4c:01:02")
        # A second LAN of deployment a: the next subnet, a new group.
        assert book.join(state, a, "a2", ["default", "storage"]) == [
            a2[0],
            Seat("storage", "239.255.200.3:55555", 2, 1),
        ]
        assert book.join(state, a, "a1", ["default"]) == a1  # kept on re-creation
        assert state.attrs(a)[LANS_ATTR] == {
            "default": {
                "group": "239.255.7.9",
                "port": 41000,
                "subnet": 1,
                "members": {"a1": 1, "a2": 2},
            },
            "storage": {"group": "239.255.200.3", "port": 55555, "subnet": 2, "members": {"a2": 1}},
        }
        book.leave(state, a, "a1")
        book.leave(state, a, "a2")
        assert state.attrs(a)[LANS_ATTR] == {}  # no members: forgotten
        assert len(state.attrs(b)[LANS_ATTR]["default"]["members"]) == 1


def test_parallel_creations_never_share_an_address(tmp_path: Path) -> None:
    book = LanBook()
    with State(tmp_path / "state.db") as state:
        dep = state.create("d", [])
        seats: dict[str, Seat] = {}

        def create(name: str) -> None:
            (seats[name],) = book.join(state, dep, name, ["default"])

        threads = [threading.Thread(target=create, args=(f"m{i}",)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(s.node for s in seats.values()) == list(range(1, 13))
        assert len({s.group for s in seats.values()}) == 1


@pytest.mark.parametrize(
    ("names", "fragment"),
    [
        (["/tmp/sw"], "'/tmp/sw' is not a LAN name (1-32 letters, digits"),
        (["lan", "lan"], "'lan' is listed twice"),
        ([f"l{i}" for i in range(9)], "9 LANs, at most 8 per machine"),
        ([3], "3 is not a LAN name"),
    ],
)
def test_lan_names_are_checked(names: list[object], fragment: str) -> None:
    with pytest.raises(BackendError) as err:
        check_names("web", names)
    assert str(err.value).startswith("machine 'web': deployment.libvirt.networks: ")
    assert fragment in str(err.value)


def test_multicast_nic_arguments_bind_to_the_loopback(tmp_path: Path) -> None:
    spec = DomainSpec(
        name="declos-0123abcd-web",
        memory_mib=512,
        vcpus=1,
        kernel=tmp_path / "vmlinuz",
        initrd=tmp_path / "initrd.img",
        cmdline="",
        disks=[],
        ssh_port=40022,
        console_log=tmp_path / "console.log",
        workdir=tmp_path,
        lan_nics=[Seat("default", "239.255.7.9:41000", 1, 2).nic(0)],
    )
    assert netdev_args(spec)[4:] == [
        "-netdev",
        "socket,id=lan0-net,mcast=239.255.7.9:41000,localaddr=127.0.0.1",
        "-device",
        "virtio-net-pci,netdev=lan0-net,id=lan0,mac=52:54:00:4c:01:02,bus=pci.0,addr=0x11",
    ]
    relay = LanNic("lan1", "52:54:00:12:01:01", socket=tmp_path / "r.sock")
    assert relay.netdev() == (
        f"stream,id=lan1-net,server=off,addr.type=unix,addr.path={tmp_path}/r.sock"
    )
    assert "<graphics" not in domain_xml(spec)
    assert "-vnc" not in qemu_argv(spec, tmp_path / "qmp", tmp_path / "pid")
    spec.graphics = True
    assert GRAPHICS_XML in domain_xml(spec)
    assert "listen='127.0.0.1'" in GRAPHICS_XML
    argv = qemu_argv(spec, tmp_path / "qmp", tmp_path / "pid")
    assert argv[argv.index("-vga") + 1] == "std"
    assert argv[argv.index("-vnc") + 1] == "127.0.0.1:0,to=99"


def test_two_qemus_on_one_group_hear_each_other_and_not_another_group() -> None:
    """What the LAN rests on, with real sockets: QEMU's `mcast=` socket is bound to its
    group and joined on 127.0.0.1, so a member of another group hears nothing."""

    def member(group: str, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((group, port))
        mreq = socket.inet_aton(group) + socket.inet_aton("127.0.0.1")
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        s.settimeout(0.5)
        return s

    port = 47000 + (threading.get_ident() % 1000)
    a1, a2 = member("239.255.250.1", port), member("239.255.250.1", port)
    other = member("239.255.250.2", port)
    try:
        a1.sendto(b"frame", ("239.255.250.1", port))
        assert a2.recvfrom(100)[0] == b"frame"
        with pytest.raises(TimeoutError):
            other.recvfrom(100)
    finally:
        for s in (a1, a2, other):
            s.close()


def test_overlay_grows_to_the_requested_size_never_shrinks(tmp_path: Path) -> None:
    base = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "2G"], check=True)
    grown = create_overlay(base, tmp_path / "grown.qcow2", 5)
    assert virtual_size(grown) == 5 * GIB
    assert virtual_size(create_overlay(base, tmp_path / "same.qcow2")) == 2 * GIB
    with pytest.raises(VirtError) as err:
        create_overlay(base, tmp_path / "small.qcow2", 1)
    assert str(err.value) == (
        f"a disk of 1 GiB is smaller than the base image's 2 GiB ({base}); give at least 2"
    )
    assert not (tmp_path / "small.qcow2").exists()


def fake_image(directory: Path, size: str = "2G") -> Path:
    directory.mkdir()
    (directory / "manifest.json").write_text(json.dumps({"key": "fake"}))
    disk = directory / "root.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), size], check=True)
    return directory


@pytest.mark.parametrize(
    ("values", "manifest", "fragment"),
    [
        ({"networks": ["a/b"]}, None, "deployment.libvirt.networks: 'a/b' is not a LAN name"),
        (
            {"baseImageSize": 1},
            None,
            "deployment.libvirt.baseImageSize = 1 is smaller than the base image's disk "
            "(2 GiB); give at least 2",
        ),
        ({}, "{", "manifest.json (JSONDecodeError("),
        ({}, "{}", "manifest.json (KeyError('key'))"),
    ],
)
def test_refused_before_anything_is_made(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    values: dict[str, object],
    manifest: str | None,
    fragment: str,
) -> None:
    monkeypatch.setenv("DECLOS_VM_DIR", str(tmp_path / "vms"))
    image = fake_image(tmp_path / "img")
    if manifest is not None:
        (image / "manifest.json").write_text(manifest)
    with State(tmp_path / "state.db") as state:
        dep = state.create("d", [])
        v = {"baseImage": str(image), **values}
        ctx = MachineContext(state, dep, "web", {"libvirt": v}, print)
        with pytest.raises(BackendError) as err:
            LibvirtBackend().ensure_up(ctx)
        assert str(err.value).startswith("machine 'web': "), err.value
        assert fragment in str(err.value)
        assert state.machines(dep) == {}
        assert LANS_ATTR not in state.attrs(dep)
    assert not (tmp_path / "vms").exists()
