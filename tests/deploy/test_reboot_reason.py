"""When a new closure needs a reboot to take effect (the deploy agent's `reboot-needed`,
which drives `deploy --allow-reboot`): kernel, initrd or kernel parameters that differ
from the booted generation's, parameters missing from the running kernel's command line,
or another kernel release installed than the one running. Containers never need one."""

from __future__ import annotations

import json
import os
from pathlib import Path

from declos.deploy.agent import _reboot_reason_of, reboot_reason
from declos.deploy.reboot import boot_activation_done

BOOT = {"kernel": None, "initrd": None, "kernelParams": ["quiet"], "isContainer": False}
RUNNING = "6.1.0-27-amd64"


def test_same_boot_settings_as_the_booted_generation_need_no_reboot() -> None:
    got = reboot_reason(BOOT, dict(BOOT), "root=/dev/vda1 quiet", RUNNING, f"vmlinuz-{RUNNING}")
    assert got is None


def test_changed_parameters_kernel_and_initrd_are_named() -> None:
    new = {**BOOT, "kernelParams": ["console=ttyS0"], "kernel": "/boot/vmlinuz-x"}
    got = reboot_reason(new, BOOT, "quiet", RUNNING, "")
    assert got == "kernel default -> /boot/vmlinuz-x; kernel parameters +console=ttyS0 -quiet"
    new = {**BOOT, "initrd": "/boot/initrd.img-y"}
    assert reboot_reason(new, BOOT, "quiet", RUNNING, "") == "initrd default -> /boot/initrd.img-y"


def test_not_booted_from_declos_compares_with_the_running_command_line() -> None:
    new = {**BOOT, "kernelParams": ["quiet", "mitigations=off"]}
    got = reboot_reason(new, None, "root=/dev/vda1 quiet", RUNNING, "")
    assert got == "kernel parameters not active: mitigations=off"
    assert reboot_reason(new, None, "quiet mitigations=off", RUNNING, "") is None


def test_a_newer_installed_kernel_needs_a_reboot() -> None:
    got = reboot_reason(BOOT, None, "quiet", RUNNING, "vmlinuz-6.1.0-28-amd64")
    assert got == f"kernel 6.1.0-28-amd64 is installed, {RUNNING} is running"


def test_containers_never_need_a_reboot() -> None:
    new = {**BOOT, "isContainer": True, "kernelParams": ["anything"]}
    assert reboot_reason(new, None, "", RUNNING, "vmlinuz-0") is None


def test_booted_generation_is_read_from_the_command_line(tmp_path: Path) -> None:
    """The agent reads TOP/system.json, the booted generation from `declos.generation=N`
    on the command line and that generation's system.json through the profile link."""

    def closure(name: str, params: list[str]) -> Path:
        top = tmp_path / name
        top.mkdir()
        boot = {**BOOT, "kernel": "/nonexistent/vmlinuz", "kernelParams": params}
        (top / "system.json").write_text(json.dumps({"boot": boot}))
        return top

    old, new = closure("old", ["quiet"]), closure("new", ["quiet", "nosmt"])
    profile = tmp_path / "system"
    os.symlink(old, f"{profile}-3-link")
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("root=/dev/vda1 quiet declos.generation=3\n")
    got = _reboot_reason_of(str(new), str(profile), str(cmdline))
    assert got == "kernel parameters +nosmt"
    assert _reboot_reason_of(str(old), str(profile), str(cmdline)) is None


def test_the_deployer_waits_for_the_boot_time_activation_not_just_ssh() -> None:
    """sshd answers before declos-boot.service (Before=multi-user.target) has run."""
    assert not boot_activation_done("inactive", "starting")  # its job is still queued
    assert not boot_activation_done("activating", "starting")
    assert not boot_activation_done("activating", "running")
    assert boot_activation_done("active", "starting")
    assert boot_activation_done("failed", "starting")
    assert boot_activation_done("inactive", "degraded")  # boot over, the unit never ran
    assert boot_activation_done("inactive", "running")
