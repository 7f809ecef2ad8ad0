"""`declos generate-config`: describe an existing Debian host as declos configuration.

`nixos-generate-config` for Debian. Facts are read from a `Host` (LocalHost for this
machine, SSHHost for `--target`) or, with `--root DIR`, from the files of an installed
tree (no live mounts, addresses or services then). Two files come out:

- `hardware-configuration.yaml`: `fileSystems` (by UUID when the device has one, with the
  fstab's options) and `swapDevices`, `boot.loader.grub.device` (the disk holding /boot
  when GRUB is installed);
- `configuration.yaml`: imports the hardware file; `networking.hostName`; the static IPv4
  addresses per interface; normal users (uid 1000-59999) with their primary group, extra
  groups and authorized keys; and, as comments, the enabled systemd services and the
  manually installed Debian packages, so a person sees what is left to declare.

Nothing is executed on the host besides reading files (`cat`, `find`, `readlink`,
`lsblk`, `nft list ruleset`) and `ip -o -4 addr show`.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from declos.deploy.errors import DeployError
from declos.hosts import CommandFailed, Host

NORMAL_UID = range(1000, 60000)
# Mount points that are the kernel's or systemd's business, never declared.
_VIRTUAL_FS = {
    "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "securityfs", "cgroup", "cgroup2",
    "pstore", "bpf", "debugfs", "tracefs", "hugetlbfs", "mqueue", "configfs", "fusectl",
    "autofs", "binfmt_misc", "efivarfs", "ramfs", "rpc_pipefs", "nsfs", "overlay", "squashfs",
}  # fmt: skip
_DEFAULT_OPTIONS = {"rw", "relatime", "seclabel"}
HARDWARE = "hardware-configuration.yaml"
CONFIGURATION = "configuration.yaml"
SSH_UNITS = {"ssh.service", "sshd.service"}


class AdoptError(DeployError):
    """The host's facts could not be read, or an output file exists (without --force)."""


@dataclass(frozen=True)
class Mount:
    device: str
    mount_point: str
    fs_type: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    group: str
    gid: int
    home: str
    shell: str
    description: str
    extra_groups: tuple[str, ...]
    keys: tuple[str, ...]


@dataclass
class HostFacts:
    hostname: str = ""
    file_systems: list[Mount] = field(default_factory=list)
    swaps: list[str] = field(default_factory=list)
    grub_device: str = ""
    addresses: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    users: list[User] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    ssh_ports: list[int] = field(default_factory=list)
    has_firewall: bool = False


@dataclass
class Source:
    """Where facts come from: a host (live: mounts, addresses) and a root prefix."""

    host: Host
    root: str = "/"
    live: bool = True

    def read(self, path: str) -> str | None:
        full = os.path.join(self.root, path.lstrip("/"))
        r = self.host.run(["cat", "--", full], check=False, timeout=60)
        return r.stdout.decode(errors="replace") if r.returncode == 0 else None

    def run(self, argv: list[str]) -> str:
        try:
            return self.host.run(argv, timeout=60).stdout.decode(errors="replace")
        except CommandFailed as exc:
            err = exc.result.stderr.decode(errors="replace").strip()
            raise AdoptError(f"`{shlex.join(argv)}` failed on {self.host.name}: {err}") from None


def _fstab(text: str) -> list[Mount]:
    out = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 4:
            out.append(
                Mount(fields[0], _unescape(fields[1]), fields[2], tuple(fields[3].split(",")))
            )
    return out


def _unescape(path: str) -> str:
    """fstab and /proc/mounts write space, tab, newline and backslash as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def _by_id(src: Source, kind: str) -> dict[str, str]:
    """Resolved device -> its UUID or label (from /dev/disk/by-KIND)."""
    out = src.run(["sh", "-c", f'for f in /dev/disk/by-{kind}/*; do [ -e "$f" ] && '
                   'echo "${f##*/} $(readlink -f "$f")"; done; true'])  # fmt: skip
    found: dict[str, str] = {}
    for line in out.splitlines():
        ident, _, dev = line.partition(" ")
        found.setdefault(dev, ident)
    return found


def _file_systems(src: Source, fstab: list[Mount]) -> tuple[list[Mount], list[str]]:
    by_point = {m.mount_point: m for m in fstab if m.fs_type != "swap"}
    swaps = [m.device for m in fstab if m.fs_type == "swap"]
    if not src.live:
        return [m for m in by_point.values() if m.fs_type not in _VIRTUAL_FS], swaps
    uuids = _by_id(src, "uuid")
    mounts: dict[str, Mount] = {}
    for line in src.run(["cat", "/proc/self/mounts"]).splitlines():
        dev, point, fs, opts = (line.split() + ["", "", "", ""])[:4]
        point = _unescape(point)
        if fs in _VIRTUAL_FS or not dev.startswith("/dev/") or point in mounts:
            continue
        real = src.run(["readlink", "-f", dev]).strip() or dev
        device = f"/dev/disk/by-uuid/{uuids[real]}" if real in uuids else dev
        declared = by_point.get(point)
        options = declared.options if declared else tuple(
            o for o in opts.split(",") if o not in _DEFAULT_OPTIONS
        ) or ("defaults",)  # fmt: skip
        mounts[point] = Mount(device, point, fs, options)
    for line in src.run(["cat", "/proc/swaps"]).splitlines()[1:]:
        dev = line.split()[0] if line.split() else ""
        if dev and dev not in swaps:
            swaps.append(dev)
    return list(mounts.values()), swaps


def _grub_device(src: Source, file_systems: list[Mount]) -> str:
    if src.read("/boot/grub/grub.cfg") is None or not src.live:
        return ""
    boot = next((m for m in file_systems if m.mount_point == "/boot"), None)
    boot = boot or next((m for m in file_systems if m.mount_point == "/"), None)
    if boot is None:
        return ""
    real = src.run(["readlink", "-f", boot.device]).strip()
    parent = src.run(["lsblk", "-no", "PKNAME", real]).strip() if real else ""
    return f"/dev/{parent}" if parent else real


def _addresses(src: Source) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for line in src.run(["ip", "-o", "-4", "addr", "show"]).splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[1] == "lo" or "dynamic" in fields:
            continue
        addr, _, prefix = fields[3].partition("/")
        out.setdefault(fields[1], []).append((addr, int(prefix or 32)))
    return out


def _users(src: Source) -> list[User]:
    groups: dict[str, tuple[int, list[str]]] = {}
    for line in (src.read("/etc/group") or "").splitlines():
        f = line.split(":")
        if len(f) >= 4 and f[2].isdigit():
            groups[f[0]] = (int(f[2]), [m for m in f[3].split(",") if m])
    gid_name = {gid: name for name, (gid, _) in groups.items()}
    users = []
    for line in (src.read("/etc/passwd") or "").splitlines():
        f = line.split(":")
        if len(f) < 7 or not f[2].isdigit() or int(f[2]) not in NORMAL_UID:
            continue
        name, uid, gid = f[0], int(f[2]), int(f[3]) if f[3].isdigit() else 100
        keys_text = src.read(f"{f[5]}/.ssh/authorized_keys") or ""
        keys = tuple(
            k.strip() for k in keys_text.splitlines() if k.strip() and not k.startswith("#")
        )
        extra = tuple(sorted(g for g, (_, members) in groups.items() if name in members))
        group = gid_name.get(gid, "users")
        users.append(User(name, uid, group, gid, f[5], f[6], f[4].split(",")[0], extra, keys))
    return users


def _packages(src: Source) -> list[str]:
    installed = set()
    for stanza in (src.read("/var/lib/dpkg/status") or "").split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in stanza.splitlines()
            if ": " in line and not line[0].isspace()
        )
        if fields.get("Status", "").endswith(" installed") and fields.get("Package"):
            installed.add(fields["Package"])
    auto = set()
    for stanza in (src.read("/var/lib/apt/extended_states") or "").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
        if fields.get("Auto-Installed") == "1":
            auto.add(fields.get("Package", ""))
    return sorted(installed - auto)


def _services(src: Source) -> list[str]:
    """Services enabled through a `.wants/` link under /etc/systemd/system (what
    `systemctl enable` makes), read from the files: no D-Bus round trip that a loaded
    host can time out, and it works on an offline tree (`--root`) too."""
    base = os.path.join(src.root, "etc/systemd/system")
    found = src.host.run(["find", base, "-path", "*.wants/*", "-name", "*.service"], check=False)
    out = found.stdout.decode(errors="replace")  # (no such directory: no enabled services)
    return sorted({os.path.basename(line) for line in out.splitlines() if line.strip()})


def _ssh_ports(src: Source) -> list[int]:
    """sshd's `Port` lines (22 when there are none): adopting a host must not close the
    door the deployer came in through, since declos's firewall is on by default."""
    text = src.read("/etc/ssh/sshd_config") or ""
    ports = [int(m.group(1)) for m in re.finditer(r"(?im)^[ \t]*Port[ \t]+(\d{1,5})[ \t]*$", text)]
    return sorted({p for p in ports if 0 < p < 65536}) or [22]


def _ssh_socket_enabled(src: Source) -> bool:
    """Debian's socket-activated sshd (`systemctl enable ssh.socket`)."""
    base = os.path.join(src.root, "etc/systemd/system")
    found = src.host.run(["find", base, "-path", "*.wants/ssh.socket"], check=False)
    return bool(found.stdout.strip())


def _has_firewall(src: Source, services: list[str]) -> bool:
    """Whether the host filters packets now: nftables.service enabled, or (live) a
    non-empty `nft list ruleset`."""
    if "nftables.service" in services:
        return True
    if not src.live:
        return False
    found = src.host.run(["nft", "list", "ruleset"], check=False, timeout=60)
    return found.returncode == 0 and bool(found.stdout.strip())


def gather(src: Source) -> HostFacts:
    """Every fact the two files are made of."""
    facts = HostFacts()
    facts.hostname = (src.read("/etc/hostname") or "").strip()
    facts.file_systems, facts.swaps = _file_systems(src, _fstab(src.read("/etc/fstab") or ""))
    facts.grub_device = _grub_device(src, facts.file_systems)
    facts.users = _users(src)
    facts.packages = _packages(src)
    facts.services = _services(src)
    if SSH_UNITS & set(facts.services) or _ssh_socket_enabled(src):
        facts.ssh_ports = _ssh_ports(src)
    facts.has_firewall = _has_firewall(src, facts.services)
    if src.live:
        facts.addresses = _addresses(src)
    return facts


def _dump(data: dict[str, Any]) -> str:
    return (
        yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100) if data else ""
    )


def hardware_configuration(facts: HostFacts, origin: str) -> str:
    fs = {
        m.mount_point: {"device": m.device, "fsType": m.fs_type, "options": list(m.options)}
        for m in sorted(facts.file_systems, key=lambda m: m.mount_point)
    }
    data: dict[str, Any] = {"fileSystems": fs}
    data["swapDevices"] = [{"device": d} for d in facts.swaps]
    if facts.grub_device:
        data["boot.loader.grub.device"] = facts.grub_device
    head = (
        f"# Generated by `declos generate-config` from {origin}.\n"
        "# The host's disks, as they are now. Regenerate it (with --force) after changing\n"
        "# partitions; keep your own settings in configuration.yaml.\n"
    )
    return head + _dump(data)


def configuration(facts: HostFacts, origin: str) -> str:
    data: dict[str, Any] = {"imports": [HARDWARE]}
    if facts.hostname:
        data["networking.hostName"] = facts.hostname
    if facts.addresses:
        data["networking.interfaces"] = {
            name: {"ipv4.addresses": [{"address": a, "prefixLength": p} for a, p in addrs]}
            for name, addrs in sorted(facts.addresses.items())
        }
    groups = {u.group: {"gid": u.gid} for u in facts.users if u.group != "users"}
    if groups:
        data["users.groups"] = groups
    if facts.users:
        data["users.users"] = {u.name: _user(u) for u in facts.users}
    data.update(_firewall(facts))
    head = (
        f"# Generated by `declos generate-config` from {origin}: this host as it is now.\n"
        "# Edit it, then `declos switch -c configuration.yaml` (or deploy it with\n"
        "# `declos create`/`deploy`). Nothing below changes the host until you do.\n"
    )
    if not facts.has_firewall:
        head += (
            "# The host filters no packets now, so declos's firewall stays off; open the\n"
            "# ports its services need before you set networking.firewall.enable.\n"
        )
    tail = ""
    if facts.services:
        tail += "\n# Enabled systemd services (declare the ones you want declos to manage):\n"
        tail += "".join(f"#   {s}\n" for s in facts.services)
    if facts.packages:
        tail += (
            "\n# Manually installed Debian packages (`environment.systemPackages` candidates):\n"
        )
        tail += "".join(f"#   {p}\n" for p in facts.packages)
    return head + _dump(data) + tail


def _firewall(facts: HostFacts) -> dict[str, Any]:
    """The firewall as the host has it: off when nothing filters now (declos's is on by
    default and would close every service's port), and sshd's ports open either way."""
    out: dict[str, Any] = {}
    if not facts.has_firewall:
        out["networking.firewall.enable"] = False
    if facts.ssh_ports:
        out["networking.firewall.allowedTCPPorts"] = facts.ssh_ports
    return out


def _user(u: User) -> dict[str, Any]:
    out: dict[str, Any] = {"isNormalUser": True, "uid": u.uid, "group": u.group, "home": u.home}
    out["shell"] = u.shell
    if u.description:
        out["description"] = u.description
    if u.extra_groups:
        out["extraGroups"] = list(u.extra_groups)
    if u.keys:
        out["openssh.authorizedKeys.keys"] = list(u.keys)
    return out


def write_files(
    directory: Path, files: dict[str, str], force: bool, log: Callable[[str], None]
) -> list[Path]:
    """Write each file atomically; refuse (before writing any) if one exists, unless force."""
    existing = [directory / n for n in files if (directory / n).exists()]
    if existing and not force:
        names = " and ".join(str(p) for p in existing)
        verb = "exists" if len(existing) == 1 else "exist"
        raise AdoptError(f"{names} already {verb}; pass --force to overwrite (nothing written)")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = directory / name
        if path.exists():  # --force: the old file is kept beside the new one
            os.replace(path, path.with_name(name + ".bak"))
            log(f"kept the old {path} as {path.name}.bak")
        tmp = path.with_name(f".{name}.tmp-{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, path)
        log(f"wrote {path}")
        written.append(path)
    return written
