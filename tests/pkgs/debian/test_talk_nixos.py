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
import socket
import subprocess
import time
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
  port: {port}
  listenAddress: 127.0.0.1
  logFile: {log}
  # plugins run as nobody by default; pytest's temporary tree (the store's parent) is
  # mode 0700, so this one runs as root
  extraPluginConfig: |
    [uptime]
    user root
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def test_munin_node_answers_on_its_port(
    corpus_lock: Lock, deb_store: Store, tmp_path: Path
) -> None:
    shutil.copy(corpus_lock.path, tmp_path / "declos.lock")
    port, log = free_port(), tmp_path / "munin-node.log"
    (tmp_path / "node.yaml").write_text(NODE.format(port=port, log=log))
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
    # What activation and the unit's preStart would put into /etc/munin, on an overlay.
    had_munin = Path("/etc/munin").exists()
    (tmp_path / "upper").mkdir()
    (tmp_path / "work").mkdir()
    script = (
        f"mount -t overlay overlay -o lowerdir=/etc,upperdir={tmp_path}/upper,"
        f"workdir={tmp_path}/work /etc\n"
        "mkdir -p /etc/munin/plugins\n"
        f"ln -s {top}/etc/munin/munin-node.conf {top}/etc/munin/plugin-conf.d /etc/munin/\n"
        f"ln -s {uptime}/uptime /etc/munin/plugins/uptime\n"
        f"exec env -i {node}\n"
    )
    proc = subprocess.Popen(
        ["unshare", "-m", "sh", "-ec", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        answer = ""
        for _ in range(150):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    s.sendall(b"nodes\nlist\nfetch uptime\nquit\n")
                    answer = s.makefile().read()
                break
            except OSError:
                time.sleep(0.2)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode(errors="replace")
    assert re.fullmatch(
        r"# munin node at talkhost\ntalkhost\n\.\nuptime\nuptime\.value \d+\.\d+\n\.\n", answer
    ), (answer, out, log.read_text() if log.exists() else "")
    assert Path("/etc/munin").exists() is had_munin  # the overlay went with the namespace
