"""Profiles, generations, rollback, boot action and boot-time selection under --root."""

from __future__ import annotations

import os

import pytest

from declos.common.profiles import ProfileError, Profiles, parse_age


class _System:
    """The `system` profile of a rooted tree, for assertions."""

    def __init__(self, rooted) -> None:
        self.profiles = Profiles(rooted.p("/declos/var/profiles"))

    def numbers(self) -> list[int]:
        return self.profiles.numbers("system")


def _profiles(rooted) -> _System:
    return _System(rooted)


def test_switch_creates_generations_and_links_last(rooted):
    a = rooted.make.system(etc={"declos/v": "1\n"})
    b = rooted.make.system(etc={"declos/v": "2\n"})
    assert rooted.run(a)[0] == 0
    prof = rooted.p("/declos/var/profiles")
    assert os.readlink(prof / "system") == "system-1-link"
    assert os.readlink(prof / "system-1-link") == a
    assert rooted.run(a)[0] == 0
    assert _profiles(rooted).numbers() == [1], "same closure: no new generation"
    assert rooted.run(b)[0] == 0
    assert os.readlink(prof / "system") == "system-2-link"
    assert os.readlink(prof / "system-2-link") == b
    assert os.readlink(rooted.p("/run/declos/current-system")) == b
    assert rooted.p("/declos/var/activation/active").read_text() == b + "\n"


def test_rollback_restores_files_users_and_profile(rooted):
    a = rooted.make.system(etc={"declos/v": "1\n"}, users={"alice": {"isNormalUser": True}})
    b = rooted.make.system(
        etc={"declos/v": "2\n", "declos/new": "n\n"}, users={"bob": {"isNormalUser": True}}
    )
    assert rooted.run(a)[0] == 0
    assert rooted.run(b)[0] == 0
    rc, out = rooted.run(b, "rollback")
    assert rc == 0, out
    assert out.splitlines()[0] == f"rolling back to generation 1 ({a})"
    assert rooted.read("/etc/declos/v") == "1\n"
    assert not os.path.lexists(rooted.p("/etc/declos/new"))
    users = [line.split(":")[0] for line in rooted.p("/etc/passwd").read_text().splitlines()]
    assert "alice" in users and "bob" not in users
    assert os.readlink(rooted.p("/declos/var/profiles/system")) == "system-1-link"
    assert _profiles(rooted).numbers() == [1, 2]
    rc, out = rooted.run(a, "rollback")
    assert rc == 1
    assert "generation 1 is the oldest; there is nothing to roll back to" in out


def test_generations_list_delete_and_older_than(rooted):
    tops = [rooted.make.system(etc={"declos/v": f"{i}\n"}) for i in range(4)]
    for t in tops:
        assert rooted.run(t)[0] == 0
    rc, out = rooted.run(tops[0], "generations")
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2", "3", "4"]
    assert lines[-1].endswith(f"{tops[3]}   (current)")
    rc, out = rooted.run(tops[0], "generations", "--delete", "4")
    assert (
        rc == 1 and "cannot delete generation 4 of profile 'system': it is the current one" in out
    )
    rc, out = rooted.run(tops[0], "generations", "--delete", "2")
    assert rc == 0 and out.strip() == "removing generation 2"
    old = rooted.p("/declos/var/profiles/system-1-link")
    os.utime(old, (1, 1), follow_symlinks=False)
    rc, out = rooted.run(tops[0], "generations", "--older-than", "30d")
    assert rc == 0 and out.strip() == "removing generation 1"
    assert _profiles(rooted).numbers() == [3, 4]
    with pytest.raises(ProfileError, match="invalid age '30 days'"):
        parse_age("30 days")


def test_boot_action_sets_profile_without_activating(rooted):
    a = rooted.make.system(etc={"declos/v": "1\n"})
    b = rooted.make.system(etc={"declos/v": "2\n"})
    assert rooted.run(a)[0] == 0
    rc, out = rooted.run(b, "boot")
    assert rc == 0, out
    assert rooted.read("/etc/declos/v") == "1\n", "boot does not activate"
    assert os.readlink(rooted.p("/declos/var/profiles/system")) == "system-2-link"
    # at next boot declos-boot.service activates the profile's generation
    rc, out = rooted.run(a, "boot-time")
    assert rc == 0, out
    assert rooted.read("/etc/declos/v") == "2\n"


def test_boot_time_generation_from_menu_keeps_default(rooted):
    a = rooted.make.system(etc={"declos/v": "1\n"})
    b = rooted.make.system(etc={"declos/v": "2\n"})
    assert rooted.run(a)[0] == 0
    assert rooted.run(b)[0] == 0
    rc, out = rooted.run(b, "boot-time", "--generation", "1")
    assert rc == 0, out
    assert f"activating generation 1 ({a}) at boot" in out
    assert rooted.read("/etc/declos/v") == "1\n"
    assert os.readlink(rooted.p("/declos/var/profiles/system")) == "system-2-link"


def test_grub_entries_per_generation(rooted):
    grub = {
        "enable": True,
        "device": None,
        "configurationLimit": 2,
        "extraEntries": "menuentry 'x' {\n}\n",
    }
    tops = [
        rooted.make.system(etc={"declos/v": f"{i}\n"}, grub=grub, kernel_params=["console=ttyS0"])
        for i in range(3)
    ]
    for t in tops:
        assert rooted.run(t)[0] == 0
    cfg = rooted.p("/boot/grub/custom.cfg").read_text().splitlines()
    assert cfg[0] == "# Generated by declos (do not edit): one entry per system generation."
    entries = [line for line in cfg if line.startswith("menuentry 'declos")]
    assert [e.split("--id ")[1] for e in entries] == ["declos-3 {", "declos-2 {"]
    assert "  linux /vmlinuz console=ttyS0 ro declos.generation=3" in cfg
    assert "set default=declos-3" in cfg
    assert cfg[-2:] == ["menuentry 'x' {", "}"]
    rc, out = rooted.run(tops[2], "rollback")
    assert rc == 0
    assert "set default=declos-2" in rooted.p("/boot/grub/custom.cfg").read_text()


def test_unmanaged_grub_custom_cfg_is_not_overwritten(rooted):
    rooted.p("/boot/grub").mkdir(parents=True)
    rooted.p("/boot/grub/custom.cfg").write_text("mine\n")
    top = rooted.make.system(grub={"enable": True, "configurationLimit": 5})
    rc, out = rooted.run(top)
    assert rc == 2
    assert "custom.cfg exists and was not written by declos; refusing to overwrite it" in out
    assert rooted.p("/boot/grub/custom.cfg").read_text() == "mine\n"
    assert not os.path.lexists(rooted.p("/declos/var/profiles/system")), (
        "profile not switched on failure"
    )


def test_test_action_activates_without_generation(rooted):
    a = rooted.make.system(etc={"declos/v": "1\n"})
    b = rooted.make.system(etc={"declos/v": "2\n"})
    assert rooted.run(a)[0] == 0
    rc, out = rooted.run(b, "test")
    assert rc == 0, out
    assert rooted.read("/etc/declos/v") == "2\n"
    assert _profiles(rooted).numbers() == [1]
    assert os.readlink(rooted.p("/declos/var/profiles/system")) == "system-1-link"
    assert os.readlink(rooted.p("/run/declos/current-system")) == b


def test_generation_from_kernel_cmdline():
    from declos.activation.bootloader import generation_from_cmdline

    assert generation_from_cmdline("root=/dev/vda ro declos.generation=12 quiet\n") == 12
    assert generation_from_cmdline("root=/dev/vda ro quiet") is None
    assert generation_from_cmdline("declos.generation=x") is None
