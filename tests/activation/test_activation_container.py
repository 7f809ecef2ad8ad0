"""`boot.isContainer`: a closure activated inside a real Debian container.

One systemd-nspawn container (declos.testing.nspawn: the cached bookworm rootfs with
systemd, dbus, sshd and python3, booted with `systemd-nspawn -b`) runs its own systemd
with a read-only /proc/sys (so the kernel host name cannot be set) and has no `nft`.
Closures are built with the real `declos build` into a store root, copied into the
container's /declos/store, and activated with `nsenter -t PID1 -a TOP/activate switch`,
exactly the entry point a host runs. Asserted: user created, /etc linked, unit started,
exit 0; without the option the same host-name write fails; an enabled firewall without
`nft` is refused before anything changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from declos.testing import nspawn

BASE = """\
networking.hostName: {hostname}
networking.firewall.enable: {firewall}
services.openssh.enable: false
boot.isContainer: {container}
users.users.alice.isNormalUser: true
environment.etc."declos-test.conf".text: "hello from {tag}\\n"
systemd.services.hello:
  wantedBy: [multi-user.target]
  serviceConfig: {{Type: oneshot, RemainAfterExit: true}}
  script: "echo {tag} > /run/hello-{tag}"
"""


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[nspawn.Container]:
    why = nspawn.available()
    if why:
        pytest.skip(f"container unavailable: {why}")
    fleet = nspawn.Fleet(tmp_path_factory.mktemp("box"), ["inbox"])
    try:
        fleet.start()
        yield fleet["inbox"]
    finally:
        fleet.stop()


def build_into(box: nspawn.Container, work: Path, tag: str, **options: str) -> str:
    """Build a closure with `declos build --root`, copy its store paths into the box."""
    values = {"firewall": "false", "container": "true", "hostname": "inbox", "tag": tag, **options}
    conf = work / f"{tag}.yaml"
    conf.write_text(BASE.format(**values))
    root = work / "build-root"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "declos",
            "build",
            "-c",
            str(conf),
            "--root",
            str(root),
            "--no-out-link",
        ],
        capture_output=True,
        text=True,
        cwd=work,
        env={k: v for k, v in os.environ.items() if not k.startswith("DECLOS_")},
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    top = r.stdout.strip()
    store = box.merged / "declos/store"
    store.mkdir(parents=True, exist_ok=True)
    for path in (root / "declos/store").iterdir():
        if not (store / path.name).exists() and not path.name.startswith("."):
            shutil.copytree(
                path, store / path.name, symlinks=True
            ) if path.is_dir() else shutil.copy2(path, store / path.name, follow_symlinks=False)
    return top


def activate(
    box: nspawn.Container, top: str, action: str = "switch"
) -> subprocess.CompletedProcess[str]:
    return box.exec([f"{top}/activate", action], check=False)


def test_switch_inside_a_container(box: nspawn.Container, tmp_path: Path) -> None:
    assert not (box.merged / "usr/sbin/nft").exists(), "the container has no nftables"
    top = build_into(box, tmp_path, "one")
    r = activate(box, top)
    assert r.returncode == 0, r.stderr
    assert "create user alice (uid 1000)" in r.stderr.splitlines()
    assert "the following new units were started: hello.service" in r.stderr
    assert "GRUB" not in r.stderr and "error" not in r.stderr
    assert box.exec(["getent", "passwd", "alice"]).stdout.startswith("alice:x:1000:100:")
    assert box.exec(["cat", "/etc/declos-test.conf"]).stdout == "hello from one\n"
    assert os.readlink(box.merged / "etc/declos-test.conf") == ".declos-static/etc/declos-test.conf"
    assert box.exec(["systemctl", "is-active", "hello.service"]).stdout.strip() == "active"
    assert box.exec(["cat", "/run/hello-one"]).stdout == "one\n"
    assert box.exec(["cat", "/etc/hostname"]).stdout == "inbox\n"
    assert os.readlink(box.merged / "declos/var/profiles/system") == "system-1-link"
    assert not (box.merged / "boot/grub/custom.cfg").exists()
    again = activate(box, top)
    assert again.returncode == 0, again.stderr
    assert f"no changes: {top} is already active" in again.stderr


def test_without_the_option_the_kernel_host_name_write_fails(
    box: nspawn.Container, tmp_path: Path
) -> None:
    """The control: boot.isContainer false and a new host name; /proc/sys is read-only."""
    top = build_into(box, tmp_path, "two", container="false", hostname="other")
    r = activate(box, top)
    assert r.returncode == 2, r.stderr
    assert "error: hostname: [Errno 30] Read-only file system" in r.stderr


def test_enabled_firewall_without_nft_is_refused_before_any_change(
    box: nspawn.Container, tmp_path: Path
) -> None:
    top = build_into(box, tmp_path, "three", firewall="true")
    before = os.readlink(box.merged / "declos/var/profiles/system")
    r = activate(box, top)
    assert r.returncode == 2
    assert (
        "error: firewall: networking.firewall.enable is true but this host has no `nft` binary"
        in r.stderr
    )
    assert "activating the configuration" not in r.stderr
    assert box.exec(["cat", "/etc/declos-test.conf"], check=False).stdout != "hello from three\n"
    assert os.readlink(box.merged / "declos/var/profiles/system") == before
