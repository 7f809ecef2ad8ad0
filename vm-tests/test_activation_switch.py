"""Activation against real systemd in the shared guest: hand-made closures (the contract
of docs/closure.md, built by tests/activation/activation_closures.py) are copied into the
guest with their activator and run through their own `activate` wrapper."""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import pytest

from declos.testing import Machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "activation"))
from activation_closures import ClosureMaker  # noqa: E402

FW = """table inet declos-fw
delete table inet declos-fw
table inet declos-fw {{
  chain input {{
    type filter hook input priority filter; policy drop;
    iifname "lo" accept
    ct state vmap {{ invalid : drop, established : accept, related : accept, new : jump input-allow }}
  }}
  chain input-allow {{
    tcp dport {{ {ports} }} accept
  }}
}}
"""
SVC = "[Unit]\nDescription={d}\n[Service]\nExecStart={e}\n"
WANTS = "multi-user.target"


def _closures(root: Path) -> dict[str, str]:
    mk = ClosureMaker(root, with_activator=True)
    hello = {
        "hello.service": SVC.format(d="hello", e="/bin/sleep infinity"),
        "same.service": SVC.format(d="same", e="/bin/sleep 99999"),
    }
    rel = "[Unit]\nX-Reload-Triggers=/declos/store/{t}\n[Service]\nExecStart=/bin/sleep 777\nExecReload=/bin/true\n"
    pin = "[Service]\nX-RestartIfChanged=false\nExecStart=/bin/sleep {n}\n"
    first = dict(hello, **{"rel.service": rel.format(t="one"), "pin.service": pin.format(n=888)})
    a = mk.system(
        hostname="guest",
        etc={"declos/a.conf": "a\n"},
        units=first,
        wanted_by={WANTS: ["hello.service", "same.service", "rel.service", "pin.service"]},
        firewall=FW.format(ports="22"),
        users={"alice": {"isNormalUser": True}},
    )
    changed = dict(hello, **{"hello.service": SVC.format(d="hello", e="/bin/sleep 12345678")})
    b = mk.system(
        hostname="guest",
        etc={"declos/a.conf": "b\n"},
        units=dict(
            changed,
            **{
                "extra.service": SVC.format(d="extra", e="/bin/sleep 5555"),
                "rel.service": rel.format(t="two"),
                "pin.service": pin.format(n=889),
            },
        ),
        wanted_by={
            WANTS: ["hello.service", "same.service", "extra.service", "rel.service", "pin.service"]
        },
        firewall=FW.format(ports="22, 8080"),
    )
    c = mk.system(
        hostname="guest",
        etc={"declos/a.conf": "b\n"},
        units=dict(
            changed,
            **{
                "bad.service": "[Service]\nType=oneshot\n"
                "ExecStart=/bin/sh -c 'echo boom-from-bad; exit 3'\n"
            },
        ),
        wanted_by={WANTS: ["hello.service", "same.service", "bad.service"]},
        firewall=None,
    )
    return {"a": a, "b": b, "c": c}


@pytest.fixture
def loaded(fresh_guest: Machine, tmp_path: Path) -> tuple[Machine, dict[str, str]]:
    """The guest with three closures and their activator in /declos/store."""
    tops = _closures(tmp_path / "tree")
    bundle = tmp_path / "store.tar"
    with tarfile.open(bundle, "w") as tar:
        tar.add(tmp_path / "tree" / "declos", arcname="declos")
    fresh_guest.copy_from_host(bundle, "/tmp/store.tar")
    fresh_guest.succeed("tar -C / -xf /tmp/store.tar && rm /tmp/store.tar")
    return fresh_guest, tops


def _act(m: Machine, top: str, action: str, env: str = "") -> tuple[int, str]:
    return m.execute(f"{env} {top}/activate {action} 2>&1", timeout=300)


def _since(m: Machine, unit: str) -> str:
    return m.succeed(f"systemctl show -P ActiveEnterTimestampMonotonic {unit}").strip()


def test_switch_restart_failure_firewall_rollback(loaded):
    m, t = loaded
    rc, out = _act(m, t["a"], "switch")
    assert rc == 0, out
    assert (
        "the following new units were started: hello.service, pin.service, rel.service, same.service"
        in out.splitlines()
    )
    assert m.succeed("systemctl is-active hello.service same.service").split() == [
        "active",
        "active",
    ]
    assert m.succeed("id -u alice").strip() == "1000"
    assert m.succeed("cat /etc/declos/a.conf") == "a\n"
    assert "tcp dport 22 accept" in m.succeed("nft list table inet declos-fw")
    hello, same = _since(m, "hello.service"), _since(m, "same.service")
    rel_since, pin_since = _since(m, "rel.service"), _since(m, "pin.service")

    before = m.succeed(
        "systemctl show -P ExecStart hello.service; cat /etc/declos/a.conf; nft list ruleset"
    )
    rc, out = _act(m, t["b"], "dry-activate")
    assert rc == 0, out
    assert "would stop the following units: hello.service" in out.splitlines()
    assert "would start the following units: extra.service, hello.service" in out.splitlines()
    assert "would replace firewall table inet declos-fw" in out.splitlines()
    assert (
        m.succeed(
            "systemctl show -P ExecStart hello.service; cat /etc/declos/a.conf; nft list ruleset"
        )
        == before
    )

    rc, out = _act(m, t["b"], "switch")
    assert rc == 0, out
    lines = out.splitlines()
    assert "stopping the following units: hello.service" in lines
    assert "NOT restarting the following changed units: pin.service" in lines
    assert "reloading the following units: rel.service" in lines
    assert _since(m, "rel.service") == rel_since, "reloaded, not restarted"
    assert _since(m, "pin.service") == pin_since
    assert "888" in m.succeed(
        "systemctl show -P ExecMainPID pin.service | xargs -I{} cat /proc/{}/cmdline | tr '\\0' ' '"
    )
    assert "starting the following units: hello.service" in lines
    assert "the following new units were started: extra.service" in lines
    assert _since(m, "same.service") == same, "an unchanged unit is not touched"
    assert _since(m, "hello.service") != hello, "a changed unit is restarted"
    assert "12345678" in m.succeed("systemctl show -P ExecStart hello.service")
    assert "tcp dport { 22, 8080 } accept" in m.succeed("nft list table inet declos-fw")
    assert m.execute("id alice")[0] == 1
    rc, out = _act(m, t["b"], "switch")
    assert (rc, out.strip()) == (0, f"no changes: {t['b']} is already active")
    m.succeed("nft delete table inet declos-fw")
    rc, out = _act(m, t["b"], "switch")
    assert (rc, out.strip()) == (0, "loading firewall table inet declos-fw"), (
        "only the firewall is redone"
    )
    assert "tcp dport { 22, 8080 } accept" in m.succeed("nft list table inet declos-fw")

    rc, out = _act(m, t["c"], "switch")
    assert rc == 4, out
    assert "Failed to start bad.service: failed" in out
    assert "warning: the following units failed: bad.service" in out
    assert "$ journalctl -u bad.service -n 20" in out and "boom-from-bad" in out
    assert "removing firewall table inet declos-fw" in out
    assert m.execute("nft list table inet declos-fw")[0] != 0
    assert m.succeed("readlink /declos/var/profiles/system").strip() == "system-3-link"

    rc, out = _act(m, t["c"], "rollback")
    assert rc == 0, out
    assert out.splitlines()[0] == f"rolling back to generation 2 ({t['b']})"
    assert m.succeed("systemctl is-active extra.service").strip() == "active"
    assert "tcp dport { 22, 8080 } accept" in m.succeed("nft list table inet declos-fw")
    assert m.succeed("readlink /declos/var/profiles/system").strip() == "system-2-link"


def test_kill_9_then_switch_and_boot_into_generation(loaded):
    m, t = loaded
    assert _act(m, t["a"], "switch")[0] == 0
    rc, out = _act(m, t["b"], "switch", env="DECLOS_ACTIVATION_CRASH_AT=etc:1")
    assert rc == 137, out
    assert m.succeed("systemctl is-active hello.service || true").strip() == "inactive"
    rc, out = _act(m, t["b"], "switch")
    assert rc == 0, out
    assert f"warning: the previous activation of {t['b']} was interrupted; finishing it" in out
    assert "starting the following units: extra.service, hello.service" in out.splitlines()
    assert m.succeed("systemctl is-active hello.service extra.service").split() == [
        "active",
        "active",
    ]
    assert m.succeed("cat /etc/declos/a.conf") == "b\n"

    rc, out = _act(m, t["a"], "boot")
    assert rc == 0, out
    assert m.succeed("cat /etc/declos/a.conf") == "b\n", "boot does not activate"
    m.reboot()
    # SSH can come up while the boot-time activation (a oneshot ordered before
    # multi-user.target) is still switching units: wait until it has finished.
    m.wait_until_succeeds("systemctl is-active declos-boot.service", timeout=300)
    log = m.succeed("journalctl -b -u declos-boot.service --no-pager -o cat")
    assert f"activating generation 3 ({t['a']}) at boot" in log
    assert m.succeed("cat /etc/declos/a.conf") == "a\n"
    assert m.succeed("systemctl show -P ExecStart hello.service").count("infinity") == 1
    assert m.succeed("systemctl is-active extra.service || true").strip() == "inactive"
    assert "tcp dport 22 accept" in m.succeed("nft list table inet declos-fw")
    assert m.succeed("readlink /run/declos/current-system").strip() == t["a"]


MOUNT = (
    "[Unit]\nBefore=local-fs.target\n[Mount]\nWhat=/dev/loop5\nWhere=/data\nType=ext4\n"
    "Options=defaults\n"
)


def test_auto_format_mount_and_unmount(fresh_guest: Machine, tmp_path: Path):
    m = fresh_guest
    mk = ClosureMaker(tmp_path / "tree", with_activator=True)
    fs = [
        {
            "mountPoint": "/data",
            "device": "/dev/loop5",
            "fsType": "ext4",
            "options": ["defaults"],
            "autoFormat": True,
            "label": None,
            "unit": "data.mount",
        }
    ]
    with_mount = mk.system(
        hostname="guest",
        units={"data.mount": MOUNT},
        wanted_by={"local-fs.target": ["data.mount"]},
        file_systems=fs,
    )
    changed = mk.system(
        hostname="guest",
        etc={"declos/x": "x\n"},
        units={"data.mount": MOUNT},
        wanted_by={"local-fs.target": ["data.mount"]},
        file_systems=fs,
    )
    without = mk.system(hostname="guest")
    bundle = tmp_path / "store.tar"
    with tarfile.open(bundle, "w") as tar:
        tar.add(tmp_path / "tree" / "declos", arcname="declos")
    m.copy_from_host(bundle, "/tmp/store.tar")
    m.succeed(
        "tar -C / -xf /tmp/store.tar && modprobe loop && truncate -s 32M /var/tmp/disk.img"
        " && losetup /dev/loop5 /var/tmp/disk.img"
    )
    rc, out = _act(m, with_mount, "switch")
    assert rc == 0, out
    assert "formatting /dev/loop5 as ext4 for /data" in out.splitlines()
    assert "the following new units were started: data.mount" in out.splitlines()
    assert m.succeed("findmnt -n -o SOURCE,FSTYPE /data").split() == ["/dev/loop5", "ext4"]
    m.succeed("echo keep > /data/marker")
    rc, out = _act(m, changed, "switch")
    assert rc == 0, out
    assert "formatting" not in out, "a device with a filesystem is never formatted again"
    assert m.succeed("cat /data/marker") == "keep\n"
    rc, out = _act(m, without, "switch")
    assert rc == 0, out
    assert "stopping the following units: data.mount" in out.splitlines()
    assert m.execute("findmnt /data")[0] == 1
    assert m.succeed("findmnt -n -o TARGET /").strip() == "/"
