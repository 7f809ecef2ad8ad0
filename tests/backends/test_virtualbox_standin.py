"""targetEnv virtualbox against a STAND-IN `VBoxManage` (VirtualBox cannot run here).

`tests/backends/vboxmanage_standin.py` is not VirtualBox: it checks every call against
the manual's syntax and keeps the VMs' state, and its "guest" reports an IP and answers
an SSH banner once declos's key properties are set. So these tests show that declos
issues the documented VBoxManage calls in NixOps' order and that create, wait, stop
(ACPI), start, the timeout diagnostic and destroy behave; they do not show that a real
VirtualBox boots a real guest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from declos.deploy.backends import BackendError, MachineContext
from declos.deploy.backends.virtualbox import VirtualBoxBackend
from declos.deploy.session import Session
from declos.deploy.state import State
from declos.testing.plugin import run_declos

STANDIN = Path(__file__).with_name("vboxmanage_standin.py")

NETWORK = """\
box:
  networking.hostName: box
  deployment.targetEnv: virtualbox
  deployment.virtualbox:
    memorySize: 1024
    vcpu: 2
    headless: true
    vmFlags: [--nestedpaging, "off"]
    bootTimeout: {timeout}
    disks:
      disk1: {{port: 0, size: 0, baseImage: {base}}}
      data: {{port: 1, size: 2048}}
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    tool = tmp_path / "bin" / "VBoxManage"
    tool.parent.mkdir()
    tool.write_text(f'#!/bin/sh\nexec {sys.executable} {STANDIN} "$@"\n')
    tool.chmod(0o755)
    values = {
        "DECLOS_VBOXMANAGE": str(tool),
        "VBOX_STANDIN_DIR": str(tmp_path / "vbox"),
        "DECLOS_VM_DIR": str(tmp_path / "vms"),
        "DECLOS_STATE": str(tmp_path / "state.db"),
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    (tmp_path / "base.vdi").write_text("base image\n")
    return values


def declos(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_declos(tmp, *args)


def bring_up(tmp: Path) -> tuple[str, list[str]]:
    """`ensure_up` as `declos deploy` calls it (deploy itself would go on to SSH, which
    the stand-in's guest only pretends to have)."""
    lines: list[str] = []
    with State(tmp / "state.db") as state:
        session = Session(state, state.find("vb"))
        values = session.deployment_values(["box"])["box"]
        where = VirtualBoxBackend().ensure_up(
            MachineContext(state, session.deployment, "box", values, lines.append)
        )
        return f"{where.host}:{where.port}", lines


def calls(env: dict[str, str]) -> list[list[str]]:
    log = Path(env["VBOX_STANDIN_DIR"]) / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()]


def standin_vms(env: dict[str, str]) -> dict[str, dict[str, object]]:
    return dict(json.loads((Path(env["VBOX_STANDIN_DIR"]) / "state.json").read_text())["vms"])


def test_virtualbox_lifecycle_with_vboxmanage_standin(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "net.yaml").write_text(NETWORK.format(timeout=60, base=tmp_path / "base.vdi"))
    r = declos(tmp_path, "create", "-d", "vb", "net.yaml")
    assert r.returncode == 0, r.stderr
    uuid = r.stdout.strip()
    vm = f"declos-{uuid[:8]}-box"
    directory = tmp_path / "vms" / uuid / "box"

    address, lines = bring_up(tmp_path)
    port = int(address.split(":")[1])
    assert address == f"127.0.0.1:{port}"
    assert lines == [
        f"created VirtualBox VM {vm}, SSH on 127.0.0.1:{port}, host key ssh-ed25519 recorded "
        "before first contact",
        f"{vm}: guest reports IP 10.0.2.15",
    ]
    made = [
        c for c in calls(env) if c[:2] != ["showvminfo", vm] and c[:2] != ["guestproperty", "get"]
    ]
    host_key = made[7][4]
    client_key = (directory / "id_ed25519.pub").read_text().strip()
    assert made == [
        ["createvm", "--name", vm, "--ostype", "Debian_64", "--basefolder", str(directory), "--register"],
        ["storagectl", vm, "--name", "SATA", "--add", "sata", "--portcount", "8", "--bootable", "on",
         "--hostiocache", "on"],
        ["createmedium", "disk", "--filename", f"{directory}/disk1.vdi", "--diffparent",
         str(tmp_path / "base.vdi"), "--format", "VDI"],
        ["storageattach", vm, "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "hdd",
         "--medium", f"{directory}/disk1.vdi"],
        ["createmedium", "disk", "--filename", f"{directory}/data.vdi", "--size", "2048", "--format", "VDI"],
        ["storageattach", vm, "--storagectl", "SATA", "--port", "1", "--device", "0", "--type", "hdd",
         "--medium", f"{directory}/data.vdi"],
        ["modifyvm", vm, "--memory", "1024", "--vram", "10", "--nictype1", "virtio", "--nic1", "nat",
         "--natpf1", f"ssh,tcp,127.0.0.1,{port},,22", "--cpus", "2", "--nestedpaging", "off"],
        ["guestproperty", "set", vm, "/VirtualBox/GuestInfo/Declos/PrivateHostEd25519Key", host_key],
        ["guestproperty", "set", vm, "/VirtualBox/GuestInfo/Net/0/V4/IP", ""],
        ["guestproperty", "set", vm, "/VirtualBox/GuestInfo/Declos/ClientPublicKey", client_key],
        ["startvm", vm, "--type", "headless"],
    ]  # fmt: skip
    assert host_key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")

    exported = json.loads(declos(tmp_path, "export", "-d", "vb", "--include-keys").stdout)
    (entry,) = exported["deployments"].values()
    assert [(k["host"], k["port"], k["type"]) for k in entry["hostKeys"]] == [
        ("127.0.0.1", port, "ssh-ed25519")
    ]
    assert "PRIVATE KEY" not in json.dumps(exported)  # no secret in the state

    rows = json.loads(declos(tmp_path, "info", "-d", "vb", "--json").stdout)
    assert (rows[0]["status"], rows[0]["backend"], rows[0]["host"]) == (
        "running",
        "virtualbox",
        f"127.0.0.1:{port}",
    )
    r = declos(tmp_path, "stop", "-d", "vb")
    assert r.returncode == 0 and r.stdout.startswith(f"box: shut down {vm} (ACPI) in "), r.stdout
    assert standin_vms(env)[vm]["state"] == "poweroff"
    r = declos(tmp_path, "check", "-d", "vb")
    assert r.returncode == 3 and "its virtualbox VM is shut off" in r.stdout, r.stdout
    r = declos(tmp_path, "start", "-d", "vb")
    assert r.returncode == 0 and r.stdout.startswith(f"box: started {vm}; SSH answered after "), (
        r.stdout
    )
    r = declos(tmp_path, "destroy", "-d", "vb", "--confirm")
    assert (r.returncode, r.stdout) == (0, f"box: destroyed {vm} and removed {directory}\n"), (
        r.stderr
    )
    assert standin_vms(env) == {}
    assert ["controlvm", vm, "poweroff"] in calls(env) and [
        "unregistervm",
        vm,
        "--delete",
    ] in calls(env)
    assert list((tmp_path / "vms").iterdir()) == []
    (entry,) = json.loads(declos(tmp_path, "export", "-d", "vb", "--include-keys").stdout)[
        "deployments"
    ].values()
    assert (entry["machines"], entry["hostKeys"]) == ({}, [])


def test_virtualbox_boot_timeout_quotes_the_log_with_vboxmanage_standin(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VBOX_STANDIN_NO_BOOT", "1")
    (tmp_path / "net.yaml").write_text(NETWORK.format(timeout=3, base=tmp_path / "base.vdi"))
    uuid = declos(tmp_path, "create", "-d", "vb", "net.yaml").stdout.strip()
    with pytest.raises(BackendError) as err:
        bring_up(tmp_path)
    assert str(err.value) == (
        "machine 'box': the guest's IP report (/VirtualBox/GuestInfo/Net/0/V4/IP) did not come "
        "within 3 s (deployment.virtualbox.bootTimeout); last VBox.log lines:\n"
        f"VirtualBox VM (stand-in) starting declos-{uuid[:8]}-box, type headless\n"
        "guest: declos key properties found"
    )
    r = declos(tmp_path, "destroy", "-d", "vb", "--confirm")
    assert r.returncode == 0, r.stdout + r.stderr
    assert standin_vms(env) == {}


def test_virtualbox_refusals_with_vboxmanage_standin(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "net.yaml").write_text(
        "box:\n  deployment.targetEnv: virtualbox\n"
        "  deployment.virtualbox.disks.d: {port: 0, size: 100}\n"
    )
    assert declos(tmp_path, "create", "-d", "vb", "net.yaml").returncode == 0
    with pytest.raises(BackendError, match="needs a disk with a baseImage"):
        bring_up(tmp_path)
    assert not (Path(env["VBOX_STANDIN_DIR"]) / "calls.log").exists()  # nothing was called
    r = subprocess.run(
        [sys.executable, str(STANDIN), "modifyvm", "x", "--memroy", "5"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert (r.returncode, r.stderr) == (
        1,
        "VBoxManage: error: modifyvm: unknown option: --memroy\n",
    )
