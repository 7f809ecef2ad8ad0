"""The talk's NixOS example in declos: boot loader and file system, firewall with port
80, wget/git/gnupg/tmux, `services.sshd` (NixOS's alias of openssh), munin-node and
munin-cron with a `hosts` text naming `config.networking.hostName`.

The whole configuration is evaluated as `declos lock` evaluates it (a recording
package set: no lock, nothing resolved or downloaded); munin-node's part is built with the
corpus lock into this directory's store and its unit's ExecStart answers the Munin
protocol on 127.0.0.1 and runs a plugin, in a mount namespace whose /etc is an overlay
holding what activation would link there (nothing on the host changes).
munin-cron's HTML and the deployment to a machine are checked in the VM test
vm-tests/test_talk_examples.py.
(Build engineer's file in the packages engineer's directory: it reuses this
directory's store, where munin-node is already built.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from declos.config import evaluate
from declos.pkgs import Pkgs
from declos.pkgs.debian.lockfile import Lock
from declos.store import Store
from declos.system.build import build_system

TALK = """\
boot.loader.grub.device: /dev/sda
fileSystems."/".device: /dev/sda1
networking.firewall:
  enable: true
  allowedTCPPorts: [80]
environment.systemPackages: ["{{ pkgs.wget }}", "{{ pkgs.git }}", "{{ pkgs.gnupg }}", "{{ pkgs.tmux }}"]
services:
  sshd.enable: true
  munin-node.enable: true
  munin-cron:
    enable: true
    hosts: |
      [{{ config.networking.hostName }}]
      address localhost
"""
NODE = """\
networking.hostName: talkhost
services.munin-node:
  enable: true
  logFile: {log}
  # plugins run as nobody by default; pytest's temporary tree (the store's parent) is
  # mode 0700, so this one runs as root
  extraPluginConfig: |
    [uptime]
    user root
"""


def test_the_talks_nixos_configuration_evaluates(tmp_path: Path) -> None:
    (tmp_path / "configuration.yaml").write_text(TALK)
    pkgs = Pkgs(recording=True)  # as `declos lock` evaluates it: no lock needed yet
    config = evaluate([str(tmp_path / "configuration.yaml")], special_args={"pkgs": pkgs}).config
    host = config.networking.hostName
    assert config.boot.loader.grub.device == "/dev/sda"
    assert config.fileSystems["/"].device == "/dev/sda1"
    assert config.services.openssh.enable is True  # services.sshd is its alias
    assert config.networking.firewall.enable is True
    assert list(config.networking.firewall.allowedTCPPorts) == [80, 22]  # openssh's own
    names = [p.name for p in config.environment.systemPackages][:4]
    assert names == ["wget-unlocked", "git-unlocked", "gnupg-unlocked", "tmux-unlocked"]
    etc = config.environment.etc
    cron = config.systemd.services["munin-cron"]
    assert cron.startAt == "*:0/5" and cron.serviceConfig["User"] == "munin"
    munin_cron = cron.serviceConfig["ExecStart"]
    assert munin_cron.endswith("-munin-unlocked/usr/bin/munin-cron --config /etc/munin/munin.conf")
    munin = munin_cron.split("/usr/bin/", 1)[0]
    assert etc["munin/munin.conf"].source.env["text"] == (
        "dbdir     /var/lib/munin\nhtmldir   /var/www/munin\nlogdir    /var/log/munin\n"
        f"rundir    /run/munin\ntmpldir   {munin}/etc/munin/templates\n"
        f"staticdir {munin}/etc/munin/static\n[{host}]\naddress localhost\n"
    )
    assert f"host_name {host}\n" in etc["munin/munin-node.conf"].source.env["text"]
    assert list(config.systemd.timers["munin-cron"].timerConfig["OnCalendar"]) == ["*:0/5"]
    assert config.users.users.munin.isSystemUser is True
    used = {"wget", "git", "gnupg", "tmux", "munin", "munin-node", "munin-plugins-core"}
    assert used | {"munin-common"} <= pkgs.debian.recorded  # what `declos lock` would lock


# Talks the Munin protocol to the node inside the namespace, retrying until it listens.
CLIENT = """\
import socket, sys, time
for _ in range(150):
    try:
        s = socket.create_connection(("127.0.0.1", 4949), 5)
    except OSError:
        time.sleep(0.2)
        continue
    s.sendall(b"nodes\\nlist\\nfetch uptime\\nquit\\n")
    sys.stdout.write(s.makefile().read())
    break
"""


def test_munin_node_answers_on_its_port(
    corpus_lock: Lock, deb_store: Store, tmp_path: Path
) -> None:
    """munin-node as the talk writes it (`host *`, port 4949) in a network namespace with an
    IPv4 address and no IPv6 one but ::1, as on the lab's guests (no link-local addresses)
    or a host with IPv6 off on its interfaces. Net::Server resolves `*` to [::] and binds
    it with its ipv6_package; with IO::Socket::IP (its default), which asks getaddrinfo
    again with AI_ADDRCONFIG, the bind failed: "Can't connect to TCP port 4949 on ::
    [Invalid argument]" (session 5's guest run). The module sets IO::Socket::INET6."""
    shutil.copy(corpus_lock.path, tmp_path / "declos.lock")
    log = tmp_path / "munin-node.log"
    (tmp_path / "node.yaml").write_text(NODE.format(log=log))
    top = Path(build_system([str(tmp_path / "node.yaml")], store=deb_store).path)
    unit = (top / "units/munin-node.service").read_text()
    [exec_start] = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")]
    node = exec_start.removeprefix("ExecStart=")
    assert re.fullmatch(
        rf"{deb_store.store_dir}/\S+-munin-node-2\.0\.\S+/usr/sbin/munin-node "
        r"--config /etc/munin/munin-node\.conf --foreground",
        node,
    )
    uptime = next(Path(deb_store.store_dir).glob("*-munin-plugins-core-*/usr/share/munin/plugins"))
    (tmp_path / "client.py").write_text(CLIENT)
    # What activation and the unit's preStart would put into /etc/munin, on an overlay.
    had_munin = Path("/etc/munin").exists()
    (tmp_path / "upper").mkdir()
    (tmp_path / "work").mkdir()
    script = (
        f"mount -t overlay overlay -o lowerdir=/etc,upperdir={tmp_path}/upper,"
        f"workdir={tmp_path}/work /etc\n"
        "ip link set lo up\n"
        # an interface with an IPv4 address and no IPv6 one, as the guests' LAN
        "ip link add talk0 type veth peer name talk1\n"
        "sysctl -qw net.ipv6.conf.talk0.disable_ipv6=1\n"
        "ip addr add 192.0.2.1/24 dev talk0\n"
        "ip link set talk0 up\n"
        "mkdir -p /etc/munin/plugins\n"
        f"ln -s {top}/etc/munin/munin-node.conf {top}/etc/munin/plugin-conf.d /etc/munin/\n"
        f"ln -s {uptime}/uptime /etc/munin/plugins/uptime\n"
        f"env -i {node} >{tmp_path}/node.out 2>&1 &\n"
        f"{sys.executable} {tmp_path}/client.py\n"
        "kill $!\n"
    )
    run = subprocess.run(
        ["unshare", "-m", "-n", "sh", "-ec", script], capture_output=True, text=True, timeout=120
    )
    answer = run.stdout
    assert re.fullmatch(
        r"# munin node at talkhost\ntalkhost\n\.\nuptime\nuptime\.value \d+\.\d+\n\.\n", answer
    ), (answer, run.stderr, (tmp_path / "node.out").read_text(), log.read_text())
    assert run.returncode == 0, run.stderr
    assert "Binding to TCP port 4949 on host :: with IPv6" in log.read_text()
    assert Path("/etc/munin").exists() is had_munin  # the overlay went with the namespace
