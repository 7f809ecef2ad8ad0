"""Issue 5, "Verified in VMs": closures of vm-tests/configs built here with the real
builder, copied into machine "sys" with Store.copy_closure over SSH, activated there
against real systemd (see system_support.py). Each test starts from the booted snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from system_support import STATE, SystemLab, clean_lab


@pytest.fixture
def lab1(system_lab_session: SystemLab) -> Iterator[SystemLab]:
    """sys freshly booted and switched to configs/gen1 (restored from a snapshot)."""
    yield from clean_lab(system_lab_session, start="gen1")


def _unit_env(lab: SystemLab, unit: str) -> str:
    return lab.sys.succeed(f"systemctl show -P Environment {unit}").strip()


def test_first_switch_formats_disk_starts_units_and_puts_packages_on_path(lab: SystemLab) -> None:
    m = lab.sys
    assert m.succeed("blkid -p /dev/disk/by-id/virtio-extra0 || echo blank").strip() == "blank"
    top, run = lab.switch("gen1")
    assert (
        "the following new units were started: changer.service, data.mount, "
        "steady.service, web.service"
    ) in run.lines, run.output
    # autoFormat: the blank extra disk got ext4 and is mounted at /data.
    assert m.succeed("findmnt -rn -o TARGET,FSTYPE /data").split() == ["/data", "ext4"]
    assert m.succeed("blkid -p -s TYPE -o value /dev/disk/by-id/virtio-extra0").strip() == "ext4"
    m.succeed("echo kept > /data/file && sync")
    # A package from environment.systemPackages is on a login shell's PATH.
    assert (
        lab.login_shell("command -v declos-hello")
        == "/run/declos/current-system/sw/bin/declos-hello\n"
    )
    assert lab.login_shell("declos-hello") == "hello from declos-hello\n"
    assert m.succeed("readlink /run/declos/current-system").strip() == top
    assert m.succeed("cat /etc/declos-test/version /etc/declos-test/steady.conf") == (
        "1\nthe same in every generation\n"
    )
    assert m.succeed("systemctl is-active changer steady web").split() == ["active"] * 3
    assert m.succeed("id -u alice").strip() == "1000"
    assert m.succeed(f"readlink {STATE}/profiles/system").strip() == "system-1-link"
    # The web server listens, but the firewall keeps it from the LAN; SSH stays reachable.
    m.wait_for_open_port(8080)
    assert lab.peer_reaches(22)
    assert not lab.peer_reaches(8080)
    # The same config again: nothing to do, and declos says so.
    again = lab.activate(top, "switch")
    assert (again.status, again.output.strip()) == (0, f"no changes: {top} is already active")
    assert m.succeed("cat /data/file") == "kept\n", (
        "an already formatted disk is not formatted again"
    )


def test_switch_restarts_changed_unit_only_opens_port_then_rollback_restores(
    lab1: SystemLab,
) -> None:
    lab = lab1
    m = lab.sys
    top1 = lab.build("gen1")
    changer, steady, web = (lab.active_since(u) for u in ("changer", "steady", "web"))
    uid_alice = m.succeed("id -u alice")
    assert not lab.peer_reaches(8080)

    # Deploy's path: only what generation 1 did not already bring is sent.
    top2 = lab.build("gen2")
    copy = lab.push(top2)
    assert top2 in copy.sent and copy.round_trips == 1
    assert lab.activator_of(top2) == lab.activator_of(top1)
    assert lab.activator_of(top1) not in copy.sent and copy.already_present > 0
    run = lab.activate(top2, "switch")
    assert run.status == 0, run.output
    assert "stopping the following units: changer.service" in run.lines, run.output
    assert "starting the following units: changer.service" in run.lines, run.output
    assert "create user carol (uid 1001)" in run.lines, run.output
    assert lab.active_since("changer") != changer, "the changed unit was not restarted"
    assert lab.active_since("steady") == steady, "an unchanged unit was touched"
    assert lab.active_since("web") == web, "an unchanged unit was touched"
    assert _unit_env(lab, "changer").split() == [
        "GENERATION=2",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]
    assert m.succeed("cat /etc/declos-test/version").strip() == "2"
    assert m.succeed("stat -c '%a %U %G %F' /etc/declos-test/only-in-2.conf").strip() == (
        "640 root root regular file"
    )
    assert m.succeed("id -u carol").strip() == "1001"
    assert lab.peer_reaches(8080), "port 8080 was opened but the LAN cannot reach it"
    assert m.succeed(f"readlink {STATE}/profiles/system").strip() == "system-2-link"

    changer2 = lab.active_since("changer")
    back = lab.activate(top2, "rollback")
    assert back.status == 0, back.output
    assert back.lines[0] == f"rolling back to generation 1 ({top1})"
    assert "remove user carol" in back.lines, back.output
    # Files, units, users and firewall are those of generation 1 again.
    assert m.succeed("cat /etc/declos-test/version").strip() == "1"
    assert m.execute("test -e /etc/declos-test/only-in-2.conf")[0] == 1
    assert m.execute("id carol")[0] == 1
    assert m.succeed("id -u alice") == uid_alice
    assert _unit_env(lab, "changer").startswith("GENERATION=1 ")
    assert lab.active_since("changer") != changer2
    assert lab.active_since("steady") == steady
    assert not lab.peer_reaches(8080), "rollback did not close port 8080 again"
    assert lab.peer_reaches(22)
    assert m.succeed(f"readlink {STATE}/profiles/system").strip() == "system-1-link"
    assert m.succeed("readlink /run/declos/current-system").strip() == top1

    # Re-adding the removed user gives it back its uid.
    again = lab.activate(top2, "switch")
    assert again.status == 0, again.output
    assert "create user carol (uid 1001) (its previous uid)" in again.lines, again.output
    # TOP is the newest generation already, so no new one is made (docs/activation.md).
    assert m.succeed(f"readlink {STATE}/profiles/system").strip() == "system-2-link"


def test_failing_unit_exits_4_and_shows_its_journal(lab1: SystemLab) -> None:
    lab = lab1
    m = lab.sys
    top = lab.deploy("failing")
    run = lab.activate(top, "switch")
    assert run.status == 4, run.output
    assert "warning: the following units failed: broken.service" in run.lines, run.output
    assert "$ systemctl status --no-pager --full broken.service" in run.lines, run.output
    assert any(line.startswith("$ journalctl -u broken.service") for line in run.lines), run.output
    assert "broken-unit: cannot find my marbles" in run.output
    assert m.succeed("systemctl is-failed broken.service || true").strip() == "failed"
    # The rest of the configuration is active (NixOS: the profile moves on exit 4).
    assert m.succeed("cat /etc/declos-test/version").strip() == "2"
    assert m.succeed(f"readlink {STATE}/profiles/system").strip() == "system-2-link"


def test_unmanaged_etc_file_is_not_clobbered(lab1: SystemLab) -> None:
    lab = lab1
    m = lab.sys
    top1 = lab.build("gen1")
    original = m.succeed("cat /etc/issue.net")
    assert original.startswith("Debian GNU/Linux")
    before = lab.fingerprint()
    top = lab.deploy("clobber")
    run = lab.activate(top, "switch")
    assert run.status == 2, run.output
    assert (
        "error: /etc/issue.net exists and was not created by declos; refusing to overwrite "
        "it. Remove it, or set replaceExisting = true on its environment.etc entry to keep "
        "it as /etc/issue.net.declos-backup"
    ) in run.lines, run.output
    assert m.succeed("cat /etc/issue.net") == original
    assert lab.fingerprint() == before, "a refused switch changed the host"

    # replaceExisting takes it over with a backup, and removing the entry restores it.
    replace, _ = lab.switch("replace")
    assert m.succeed("cat /etc/issue.net") == "declos issue.net\n"
    assert m.succeed("cat /etc/issue.net.declos-backup") == original
    lab.switch("gen1")
    assert m.succeed("cat /etc/issue.net") == original
    assert m.execute("test -e /etc/issue.net.declos-backup")[0] == 1
    assert replace != top1


def test_dry_activate_changes_nothing(lab1: SystemLab) -> None:
    lab = lab1
    m = lab.sys
    top1 = lab.build("gen1")
    before = lab.fingerprint()
    top2 = lab.deploy("gen2")
    run = lab.activate(top2, "dry-activate")
    assert run.status == 0, run.output
    assert "would create user carol (uid 1001)" in run.lines, run.output
    assert "would update /etc/declos-test/version" in run.lines, run.output
    assert "would create /etc/declos-test/only-in-2.conf" in run.lines, run.output
    assert "would stop the following units: changer.service" in run.lines, run.output
    assert "would start the following units: changer.service" in run.lines, run.output
    assert "would replace firewall table inet declos-fw" in run.lines, run.output
    assert f"would activate {top2}" in run.lines, run.output
    assert lab.fingerprint() == before, "dry-activate changed the host"
    assert m.execute("id carol")[0] == 1
    assert not lab.peer_reaches(8080)
    assert m.succeed("readlink /run/declos/current-system").strip() == top1


def test_kill_9_in_the_middle_of_a_switch_then_switch_again(lab1: SystemLab) -> None:
    lab = lab1
    m = lab.sys
    top2 = lab.deploy("gen2")
    # Start the switch, wait until it is stopping the changed unit (its ExecStop takes
    # 3 s), then kill -9 the activator: units stopped, /etc and users not yet switched.
    out = m.succeed(
        f"{top2}/activate switch > /tmp/killed.log 2>&1 & pid=$!; "
        "for i in $(seq 1 600); do "
        '  [ "$(systemctl show -P ActiveState changer.service)" = deactivating ] && break; '
        "  sleep 0.05; done; "
        "systemctl show -P ActiveState changer.service; kill -9 $pid; wait $pid; echo rc=$?",
        timeout=300,
    )
    assert out.split() == ["deactivating", "rc=137"], out
    assert (
        m.succeed(f"test -e {STATE}/activation/journal.json && echo journal").strip() == "journal"
    )
    assert m.succeed(f"readlink {STATE}/profiles/system").strip() == "system-1-link"

    run = lab.activate(top2, "switch")
    assert run.status == 0, run.output
    assert (
        f"warning: the previous activation of {top2} was interrupted; finishing it" in run.lines
    ), run.output
    # Consistent: exactly generation 2, everything running, nothing half done.
    assert m.succeed("systemctl is-active changer steady web").split() == ["active"] * 3
    assert _unit_env(lab, "changer").startswith("GENERATION=2 ")
    assert m.succeed("cat /etc/declos-test/version").strip() == "2"
    assert m.succeed("id -u carol").strip() == "1001"
    assert lab.peer_reaches(8080)
    assert m.succeed(f"readlink {STATE}/profiles/system").strip() == "system-2-link"
    assert m.succeed(f"ls {STATE}/profiles").split() == ["system", "system-1-link", "system-2-link"]
    assert m.execute(f"test -e {STATE}/activation/journal.json")[0] == 1
    assert m.succeed("systemctl list-units --failed --plain --no-legend").strip() == ""
    again = lab.activate(top2, "switch")
    assert (again.status, again.output.strip()) == (0, f"no changes: {top2} is already active")


def test_reboot_into_older_generation(lab1: SystemLab) -> None:
    """GRUB is not in the boot path of the harness (direct kernel boot), so the entry's
    `declos.generation=1` is given on the kernel command line of the next boot."""
    lab = lab1
    m = lab.sys
    top1 = lab.build("gen1")
    top2, _ = lab.switch("gen2")
    menu = m.succeed("cat /boot/grub/custom.cfg")
    assert "declos.generation=1" in menu and "declos.generation=2" in menu
    try:
        lab.cold_boot("declos.generation=1")
        assert "declos.generation=1" in m.succeed("cat /proc/cmdline")
        log = m.succeed("journalctl -b -u declos-boot.service --no-pager -o cat")
        assert f"activating generation 1 ({top1}) at boot" in log, log
        assert m.succeed("readlink /run/declos/current-system").strip() == top1
        assert m.succeed("cat /etc/declos-test/version").strip() == "1"
        assert m.execute("id carol")[0] == 1
        m.wait_for_unit("changer.service")
        assert _unit_env(lab, "changer").startswith("GENERATION=1 ")
        assert m.succeed("findmnt -rn -o TARGET,FSTYPE /data").split() == ["/data", "ext4"]
        assert not lab.peer_reaches(8080)
        # The default generation is unchanged: booting without the parameter gives 2.
        assert m.succeed(f"readlink {STATE}/profiles/system").strip() == "system-2-link"
        assert top2 != top1
    finally:
        lab.sys.domain.spec.cmdline = lab.sys.domain.spec.cmdline.replace(
            " declos.generation=1", ""
        )
        define = getattr(lab.sys.domain, "define", None)
        if define is not None:
            define()
