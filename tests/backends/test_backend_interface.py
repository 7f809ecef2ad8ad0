"""The backend seam without a hypervisor: addresses from the state, refusals before any
VM is made, the lifecycle verbs on machines that do not exist, and the libvirt XML.

(The libvirt lifecycle against a real libvirtd is vm-tests/test_backend_libvirt.py.)
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from declos.deploy.backends import BackendError, MachineContext, backend_for, placed
from declos.deploy.backends.libvirt import LibvirtBackend, domain_name
from declos.deploy.state import State
from declos.deploy.targets import target_of
from declos.testing.plugin import run_declos
from declos.virt.domain import DomainSpec
from declos.virt.libvirt_domain import domain_xml
from declos.virt.qemu import netdev_args


def declos(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"DECLOS_STATE": str(tmp / "state.db"), "DECLOS_VM_DIR": str(tmp / "vms")}
    return run_declos(tmp, *args, env=env)


def test_placed_target_takes_the_recorded_forwarded_port_and_key() -> None:
    target = target_of("web", {"targetEnv": "libvirt"})
    assert (target.host, target.port, target.key_file) == ("web", 22, None)
    assert placed(target, {}) == target  # not created yet: nothing to overlay
    attrs = {
        "libvirt.domain": "declos-0123abcd-web",
        "libvirt.dir": "/v/0123/web",
        "libvirt.sshPort": 40022,
        "libvirt.forwards": {"80": 40080},
    }
    moved = placed(target, attrs)
    assert (moved.host, moved.port, moved.key_file) == (
        "127.0.0.1",
        40022,
        "/v/0123/web/id_ed25519",
    )
    existing = target_of("db", {"targetHost": "10.1.1.1"})
    assert placed(existing, attrs) == existing  # targetEnv none is never moved
    placement = LibvirtBackend().placement(attrs)
    assert placement is not None and dict(placement.forwards) == {80: 40080}


def test_backend_registry() -> None:
    assert backend_for("none") is None
    assert isinstance(backend_for("libvirt"), LibvirtBackend)
    assert domain_name("0123abcd-ffff", "web") == "declos-0123abcd-web"


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"networks": ["/tmp/sw"]}, "deployment.libvirt.networks: '/tmp/sw' is not a LAN"),
        ({"baseImageSize": 0}, "deployment.libvirt.baseImageSize = 0: a size in GiB, 1 to"),
        ({"baseImage": "/nonexistent/img"}, "is not a declos image directory (no manifest.json"),
    ],
)
def test_libvirt_refuses_before_creating_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, values: dict[str, object], fragment: str
) -> None:
    monkeypatch.setenv("DECLOS_VM_DIR", str(tmp_path / "vms"))
    with State(tmp_path / "state.db") as state:
        dep = state.create("d", [])
        lines: list[str] = []
        ctx = MachineContext(state, dep, "web", {"libvirt": values}, lines.append)
        with pytest.raises(BackendError) as err:
            LibvirtBackend().ensure_up(ctx)
        assert fragment in str(err.value)
        assert "machine 'web'" in str(err.value)
        assert state.machines(dep) == {}
    assert not (tmp_path / "vms").exists()


def test_domain_xml_and_qemu_args_carry_the_forwards(tmp_path: Path) -> None:
    spec = DomainSpec(
        name="declos-0123abcd-web",
        memory_mib=768,
        vcpus=2,
        kernel=tmp_path / "vmlinuz",
        initrd=tmp_path / "initrd.img",
        cmdline=DomainSpec.default_cmdline(),
        disks=[],
        ssh_port=40022,
        console_log=tmp_path / "console.log",
        workdir=tmp_path,
        forwards=[(40080, 80), (40443, 443)],
        domain_type="kvm",
        extra_devices_xml="<watchdog model='i6300esb'/>",
    )
    netdev = netdev_args(spec)[1]
    assert netdev == (
        "user,id=uplink,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22,"
        "hostfwd=tcp:127.0.0.1:40080-:80,hostfwd=tcp:127.0.0.1:40443-:443"
    )
    xml = domain_xml(spec)
    assert '<domain type="kvm"' in xml
    assert "<watchdog model='i6300esb'/>\n  </devices>" in xml
    assert "<memory unit='MiB'>768</memory>" in xml


NETWORK = """\
web:
  networking.hostName: web
  deployment.targetEnv: libvirt
old:
  deployment.targetHost: 127.0.0.1
"""


def test_lifecycle_verbs_on_machines_not_created(tmp_path: Path) -> None:
    (tmp_path / "net.yaml").write_text(NETWORK)
    assert declos(tmp_path, "create", "-d", "d", "net.yaml").returncode == 0
    r = declos(tmp_path, "start", "-d", "d")
    assert r.returncode == 3
    assert r.stdout == (
        "old: skipped: declos does not start an existing host (targetEnv none)\n"
        "web: machine 'web' has not been created yet; `declos deploy -d d` creates it\n"
    )
    r = declos(tmp_path, "stop", "-d", "d", "--on", "old")
    assert (r.returncode, r.stdout) == (
        0,
        "old: skipped: declos does not stop an existing host (targetEnv none)\n",
    )
    r = declos(tmp_path, "destroy", "-d", "d")
    assert r.returncode == 1
    assert r.stderr.startswith("error: destroy removes the machines' VMs and disks for good")
    r = declos(tmp_path, "destroy", "-d", "d", "--on", "web", "--confirm")
    assert r.returncode == 3
    assert r.stdout == "web: machine 'web' was never created: nothing to destroy\n"
    r = declos(tmp_path, "check", "-d", "d", "--on", "web")
    assert r.returncode == 3
    assert "web> not created yet; `declos deploy -d d` creates it" in r.stdout
    rows = json.loads(declos(tmp_path, "info", "-d", "d", "--json").stdout)
    assert [(r["machine"], r["status"], r["backend"]) for r in rows] == [
        ("old", "new", "none"),
        ("web", "not created", "libvirt"),
    ]
    assert "Traceback" not in r.stderr


def test_deploy_reports_a_machine_its_backend_cannot_create(tmp_path: Path) -> None:
    """The pipeline's seam: the machine is evaluated and built, its creation is refused
    (before anything is made), so it alone is `failed` with the backend's message; the
    existing host next to it is still attempted (and fails to connect: nobody listens)."""
    (tmp_path / "net.yaml").write_text(
        "vm:\n  deployment.targetEnv: libvirt\n  deployment.libvirt.networks: [lan, lan]\n"
        "old:\n  deployment.targetHost: 127.0.0.1\n  deployment.targetPort: 9\n"
    )
    assert declos(tmp_path, "create", "-d", "d", "net.yaml").returncode == 0
    r = declos(tmp_path, "deploy", "-d", "d", "--store-root", str(tmp_path / "store"), "--json")
    assert r.returncode == 3, r.stderr
    out = json.loads(r.stdout)
    assert out["vm"]["outcome"] == "failed"
    assert (
        out["vm"]["message"] == "machine 'vm': deployment.libvirt.networks: 'lan' is listed twice"
    )
    assert out["vm"]["toplevel"].startswith("/declos/store/")  # it was built first
    assert out["old"]["outcome"] == "failed"
    assert not (tmp_path / "vms").exists()
    assert "Traceback" not in r.stderr
