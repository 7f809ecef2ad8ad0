"""/etc management in files-only (--root) activation: links, copies, manifest, backups."""

from __future__ import annotations

import json
import os

from activation_closures import install_shell, snapshot


def test_links_copies_and_manifest(rooted):
    top = rooted.make.system(
        etc={
            "declos/hello.conf": "hello\n",
            "ssh/sshd_config.d/declos.conf": {"text": "Port 2222\n", "mode": "0600"},
        }
    )
    rc, out = rooted.run(top)
    assert rc == 0, out
    link = rooted.p("/etc/declos/hello.conf")
    assert os.readlink(link) == "../.declos-static/etc/declos/hello.conf"
    assert os.readlink(rooted.p("/etc/.declos-static")) == top
    assert rooted.read("/etc/declos/hello.conf") == "hello\n"
    copy = rooted.p("/etc/ssh/sshd_config.d/declos.conf")
    assert not copy.is_symlink()
    assert copy.read_text() == "Port 2222\n"
    assert oct(copy.stat().st_mode & 0o7777) == "0o600"
    manifest = json.loads(rooted.p("/declos/var/activation/etc-manifest.json").read_text())
    assert manifest["static"] == top
    assert manifest["entries"]["declos/hello.conf"]["kind"] == "link"
    assert manifest["entries"]["ssh/sshd_config.d/declos.conf"]["kind"] == "copy"
    assert manifest["dirs"] == [
        "declos",
        "ssh",
        "ssh/sshd_config.d",
        "systemd",
        "systemd/system",
        "systemd/system/multi-user.target.wants",
    ]
    assert "setting up /etc..." in out


def test_change_and_removal_follow_the_config(rooted):
    a = rooted.make.system(etc={"declos/a.conf": "one\n", "declos/b.conf": "b\n"})
    b = rooted.make.system(etc={"declos/a.conf": "two\n"})
    assert rooted.run(a)[0] == 0
    rc, out = rooted.run(b)
    assert rc == 0, out
    assert rooted.read("/etc/declos/a.conf") == "two\n"
    assert not os.path.lexists(rooted.p("/etc/declos/b.conf"))
    c = rooted.make.system(etc={})
    assert rooted.run(c)[0] == 0
    assert not os.path.lexists(rooted.p("/etc/declos")), (
        "a directory declos created and emptied is removed"
    )


def test_unmanaged_file_is_never_overwritten(rooted):
    top = rooted.make.system(etc={"motd": "declos motd\n", "declos/x": "x\n"})
    before = snapshot(rooted.root)
    rc, out = rooted.run(top)
    assert rc == 2
    assert "error: /etc/motd exists and was not created by declos; refusing to overwrite it" in out
    assert "replaceExisting" in out
    assert rooted.p("/etc/motd").read_text() == "Debian motd\n"
    after = snapshot(rooted.root)
    assert {k: v for k, v in after.items() if not k.startswith("declos/var")} == {
        k: v for k, v in before.items() if not k.startswith("declos/var")
    }, "nothing half-written"


def test_replace_existing_backs_up_and_restores(rooted):
    top = rooted.make.system(etc={"motd": {"text": "declos motd\n", "replaceExisting": True}})
    rc, out = rooted.run(top)
    assert rc == 0, out
    assert rooted.read("/etc/motd") == "declos motd\n"
    assert rooted.p("/etc/motd.declos-backup").read_text() == "Debian motd\n"
    assert rooted.run(rooted.make.system(etc={}))[0] == 0
    assert not rooted.p("/etc/motd").is_symlink()
    assert rooted.p("/etc/motd").read_text() == "Debian motd\n"
    assert not os.path.lexists(rooted.p("/etc/motd.declos-backup"))


def test_hostname_and_timezone_take_over_with_backup(rooted):
    top = rooted.make.system(hostname="web1", time_zone="Europe/Paris")
    assert rooted.run(top)[0] == 0
    assert rooted.p("/etc/hostname").read_text() == "web1\n"
    assert rooted.p("/etc/hostname.declos-backup").read_text() == "debian\n"
    assert os.readlink(rooted.p("/etc/localtime")) == "../usr/share/zoneinfo/Europe/Paris"
    assert rooted.p("/etc/timezone").read_text() == "Europe/Paris\n"


def test_units_are_linked_into_etc_systemd(rooted):
    top = rooted.make.system(
        units={"hello.service": "[Service]\nExecStart=/bin/true\n"},
        wanted_by={"multi-user.target": ["hello.service"]},
        dropins={"hello.service": {"10-env.conf": "[Service]\nEnvironment=A=1\n"}},
    )
    assert rooted.run(top)[0] == 0
    sysd = "/etc/systemd/system"
    assert (
        os.readlink(rooted.p(f"{sysd}/hello.service")) == "../../.declos-static/units/hello.service"
    )
    assert rooted.read(f"{sysd}/hello.service") == "[Service]\nExecStart=/bin/true\n"
    assert rooted.read(f"{sysd}/hello.service.d/10-env.conf") == "[Service]\nEnvironment=A=1\n"
    assert (
        os.readlink(rooted.p(f"{sysd}/multi-user.target.wants/hello.service"))
        == "../../../.declos-static/units/multi-user.target.wants/hello.service"
    )
    assert rooted.read(f"{sysd}/multi-user.target.wants/hello.service").startswith("[Service]")
    boot_unit = rooted.p(f"{sysd}/declos-boot.service").read_text()
    assert "ExecStart=/declos/var/profiles/system/activate boot-time\n" in boot_unit


def test_distro_wants_link_is_backed_up_automatically(rooted):
    wants = rooted.p("/etc/systemd/system/multi-user.target.wants")
    wants.mkdir(parents=True)
    os.symlink("/lib/systemd/system/ssh.service", wants / "ssh.service")
    top = rooted.make.system(
        units={"ssh.service": "[Service]\nExecStart=/usr/sbin/sshd -D\n"},
        wanted_by={"multi-user.target": ["ssh.service"]},
    )
    rc, out = rooted.run(top)
    assert rc == 0, out
    assert os.readlink(wants / "ssh.service.declos-backup") == "/lib/systemd/system/ssh.service"
    assert rooted.run(rooted.make.system())[0] == 0
    assert os.readlink(wants / "ssh.service") == "/lib/systemd/system/ssh.service"


def test_second_switch_changes_nothing_and_says_so(rooted):
    top = rooted.make.system(etc={"declos/a.conf": "a\n"}, users={"alice": {"isNormalUser": True}})
    assert rooted.run(top)[0] == 0
    before = snapshot(rooted.root)
    rc, out = rooted.run(top)
    assert rc == 0
    assert out.strip() == f"no changes: {top} is already active"
    assert snapshot(rooted.root) == before


def test_dry_activate_prints_changes_and_changes_nothing(rooted):
    a = rooted.make.system(etc={"declos/a.conf": "a\n", "declos/b.conf": "b\n"})
    assert rooted.run(a)[0] == 0
    b = rooted.make.system(
        etc={
            "declos/a.conf": "a2\n",
            "declos/c.conf": "c\n",
            "motd": {"text": "m\n", "replaceExisting": True},
        },
        users={"alice": {"isNormalUser": True}},
    )
    before = snapshot(rooted.root)
    rc, out = rooted.run(b, "dry-activate")
    assert rc == 0
    assert out.splitlines() == [
        "would create user alice (uid 1000)",
        "would update /etc/declos/a.conf",
        "would remove /etc/declos/b.conf",
        "would create /etc/declos/c.conf",
        "would create /etc/motd",
        "would back up /etc/motd to /etc/motd.declos-backup",
        f"would activate {b}",
    ]
    assert snapshot(rooted.root) == before


def test_unchanged_unit_is_not_reported_when_the_closure_changes(rooted):
    units = {"same.service": "[Service]\nExecStart=/bin/same\n"}
    a = rooted.make.system(
        etc={"declos/v": "1\n"}, units=units, wanted_by={"multi-user.target": ["same.service"]}
    )
    b = rooted.make.system(
        etc={"declos/v": "2\n"}, units=units, wanted_by={"multi-user.target": ["same.service"]}
    )
    assert rooted.run(a)[0] == 0
    rc, out = rooted.run(b, "dry-activate")
    assert rc == 0
    assert out.splitlines() == ["would update /etc/declos/v", f"would activate {b}"]


def test_copy_owned_by_a_user_created_in_the_same_switch(rooted):
    top = rooted.make.system(
        users={"alice": {"isNormalUser": True}},
        etc={"declos/secret": {"text": "s\n", "mode": "0400", "user": "alice", "group": "users"}},
    )
    rc, out = rooted.run(top)
    assert rc == 0, out
    st = rooted.p("/etc/declos/secret").stat()
    assert (st.st_uid, st.st_gid, oct(st.st_mode & 0o7777)) == (1000, 100, "0o400")


def test_activation_scripts_run_chrooted_in_order_and_a_failure_is_exit_2(rooted):
    """Under --root the scripts run chrooted into the tree: `/script.log` is the tree's."""
    install_shell(rooted.root)
    log = rooted.root / "script.log"
    ok = rooted.make.system(
        scripts={
            "first": 'echo "first $DECLOS_ACTION ${DECLOS_ROOT:-unset}" >> /script.log\n',
            "second": "echo second >> /script.log\n",
        }
    )
    rc, out = rooted.run(ok)
    assert rc == 0, out
    assert log.read_text() == "first switch unset\nsecond\n"
    log.unlink()
    bad = rooted.make.system(
        etc={"declos/v": "2\n"},
        scripts={"first": "exit 7\n", "second": "echo second >> /script.log\n"},
    )
    rc, out = rooted.run(bad)
    assert rc == 2
    assert "error: activation script: Activation script snippet 'first' failed (7)" in out
    assert log.read_text() == "second\n", "a failing snippet does not stop the rest"
    assert rooted.read("/etc/declos/v") == "2\n"
    assert os.readlink(rooted.p("/declos/var/profiles/system")) == "system-1-link", (
        "the profile does not move to a generation whose activation failed"
    )


def test_tmpfiles_rules_applied_inside_the_root(rooted):
    top = rooted.make.system(tmpfiles="d /var/lib/declos-test 0750 root root -\n")
    rc, out = rooted.run(top)
    assert rc == 0, out
    d = rooted.p("/var/lib/declos-test")
    assert d.is_dir() and oct(d.stat().st_mode & 0o7777) == "0o750"


def test_activation_scripts_are_refused_where_the_tree_cannot_run_them(rooted, tmp_path):
    """No /bin/sh in the tree: refused before anything is written, and nothing ran here."""
    marker = tmp_path / "ran-on-host"
    top = rooted.make.system(etc={"declos/a": "a\n"}, scripts={"x": f"touch {marker}\n"})
    before = snapshot(rooted.root)
    rc, out = rooted.run(top)
    assert rc == 1
    assert "error: system.activationScripts (x) would run chrooted into --root" in out
    assert "the tree has no /bin/sh to run them with" in out and "nothing was changed" in out
    assert not marker.exists()
    after = snapshot(rooted.root)
    # only the activation lock (declos/var/activation/lock) may have appeared
    assert {k: v for k, v in after.items() if not k.startswith("declos/")} == {
        k: v for k, v in before.items() if not k.startswith("declos/")
    }
