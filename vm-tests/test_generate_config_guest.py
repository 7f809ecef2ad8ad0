"""`declos generate-config` adopts a freshly booted VM, and switching to what it wrote
breaks nothing (issue 11).

The guest gets a normal user first (alice, uid 1001, her own group, in `adm`, with an
authorized key). `declos generate-config --target ssh://root@127.0.0.1:PORT` writes the
two files on the test machine; they are built and switched to. Afterwards: the same
mounts, the same passwd/group lines for alice, sshd reachable over a new connection, and
`systemctl --failed` empty.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from system_support import SystemLab

from declos.hosts.pipeline import push_and_activate
from declos.system import build_system

MOUNTS = "findmnt -rn -o SOURCE,TARGET,FSTYPE,OPTIONS --real | sort"
ALICE_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHlG0xT4bTgP8zUvPz8c2Tg5JQ2Y3cUq2n8aL7w2D0bM alice@laptop"
)


def test_generate_config_then_switch_breaks_nothing(lab: SystemLab, tmp_path: Path) -> None:
    m = lab.sys
    m.succeed(
        "useradd -m -u 1001 -U -G adm -s /bin/bash -c 'Alice Liddell' alice && "
        "install -d -m 700 -o alice -g alice /home/alice/.ssh && "
        f"echo '{ALICE_KEY}' > /home/alice/.ssh/authorized_keys"
    )
    mounts = m.succeed(MOUNTS)
    accounts = m.succeed("getent passwd alice; getent group alice adm")

    out = tmp_path / "adopted"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "declos",
            "generate-config",
            "--target",
            f"ssh://root@127.0.0.1:{m.ssh_port}",
            "-i",
            str(m.identity_file),
            "--known-hosts",
            str(m.known_hosts),
            "--dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"wrote {out}/hardware-configuration.yaml\nwrote {out}/configuration.yaml\n"
    hardware = yaml.safe_load((out / "hardware-configuration.yaml").read_text())
    root_fs = hardware["fileSystems"]["/"]
    uuid = m.succeed("findmnt -rn -o UUID /").strip()
    assert (root_fs["device"], root_fs["fsType"]) == (f"/dev/disk/by-uuid/{uuid}", "ext4")
    config_text = (out / "configuration.yaml").read_text()
    config = yaml.safe_load(config_text)
    assert config["users.users"]["alice"] == {
        "isNormalUser": True,
        "uid": 1001,
        "group": "alice",
        "home": "/home/alice",
        "shell": "/bin/bash",
        "description": "Alice Liddell",
        "extraGroups": ["adm"],
        "openssh.authorizedKeys.keys": [ALICE_KEY],
    }
    assert config["networking.hostName"] == m.succeed("hostname").strip()
    assert "#   ssh.service\n" in config_text  # enabled services, as comments
    assert "#   openssh-server\n" in config_text  # manually installed packages

    store = lab.store
    try:
        top = build_system([str(out / "configuration.yaml")], store=store).path
        pushed = push_and_activate(m.host, store, top, "switch")
    finally:
        store.close()
    assert pushed.activation.exit_code == 0, pushed.activation.output

    assert m.succeed(MOUNTS) == mounts
    assert m.succeed("getent passwd alice; getent group alice adm") == accounts
    m.host.close()  # sshd still takes new connections
    assert m.succeed("readlink /run/declos/current-system").strip() == top
    assert m.succeed("systemctl --failed --no-legend --plain") == ""
