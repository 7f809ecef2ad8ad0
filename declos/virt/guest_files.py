"""Files and commands baked into the base guest image.

Kept apart from the builder because their content is part of the image's cache key:
changing any line here yields a new cache entry instead of a stale image.

The image carries no per-VM secret. A VM's identity (SSH host key, root's authorized key,
hostname, LAN addresses) comes from its *seed disk*, a small read-only ext4 image the
harness builds per VM; `declos-seed.service` copies it into the root filesystem (the VM's
qcow2 overlay) before sshd or networkd start, whenever its seed id differs from the one
last applied. The kernel command line flag `declos.seed` tells the unit a seed is attached.
"""

from __future__ import annotations

SEED_SERIAL = "declos-seed"
UPLINK_MAC = "52:54:00:12:34:56"
UPLINK_ADDRESS = "10.0.2.15/24"

_SEED_SCRIPT = """#!/bin/sh
# Apply the harness seed disk (see declos/virt/guest_files.py). Idempotent.
set -eu
# The seed disk is found by its virtio serial in sysfs, not by udev's by-id link: the
# kernel creates /dev/vdX as soon as virtio_blk probes it (in the initramfs, with the
# root disk), while the link waits for udev's coldplug (10-30 s under TCG).
dev=
tries=0
while [ -z "$dev" ]; do
    for serial in /sys/block/vd*/serial; do
        if [ -r "$serial" ] && [ "$(cat "$serial")" = declos-seed ]; then
            dev=/dev/$(basename "$(dirname "$serial")")
        fi
    done
    if [ -z "$dev" ]; then
        tries=$((tries + 1))
        if [ "$tries" -gt 600 ]; then
            echo "declos-seed: no virtio disk with serial declos-seed after 60 s" >&2
            exit 1
        fi
        sleep 0.1
    fi
done
mnt=/run/declos-seed
mkdir -p "$mnt" /var/lib/declos
mount -t ext4 -o ro,noload "$dev" "$mnt"
new=$(cat "$mnt/seed-id")
old=$(cat /var/lib/declos/seed-id 2>/dev/null || true)
if [ "$new" != "$old" ]; then
    cp -a "$mnt/tree/." /
    echo "$new" > /var/lib/declos/seed-id
    sync
    echo "declos-seed: applied seed $new"
else
    echo "declos-seed: seed $new already applied"
fi
umount "$mnt"
hostname -F /etc/hostname
"""

_SEED_UNIT = """[Unit]
Description=declos: apply the harness seed disk (host key, root key, hostname, LAN)
DefaultDependencies=no
ConditionKernelCommandLine=declos.seed
After=systemd-remount-fs.service
Before=sysinit.target ssh.service systemd-networkd.service systemd-hostnamed.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/lib/declos/apply-seed
StandardOutput=journal+console

[Install]
WantedBy=sysinit.target
"""

# Named 00-harness.conf: sshd reads sshd_config.d/*.conf in lexical order and keeps the
# first value of most keywords, so this file must sort before the system builder's
# 10-declos.conf (services.openssh defaults such as PasswordAuthentication yes).
SSHD_CONFIG = "/etc/ssh/sshd_config.d/00-harness.conf"

_SSHD = """# declos VM harness hardening: key-only root login, no DNS lookups (there is no DNS).
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
"""

_UPLINK = f"""# QEMU user networking: reached from the host only through hostfwd on 127.0.0.1.
[Match]
MACAddress={UPLINK_MAC}

[Network]
Address={UPLINK_ADDRESS}
LinkLocalAddressing=no
IPv6AcceptRA=no
"""

_FSTAB = "LABEL=declos-root / ext4 errors=remount-ro 0 1\n"

_JOURNALD = """[Journal]
# Keep the serial console useful for diagnostics without flooding it.
ForwardToConsole=no
Storage=persistent
"""


# The initramfs only has to mount the root disk (virtio, ext4): Debian's default
# MODULES=most packs ~36 MB of drivers the kernel must decompress and udev must
# sift through under TCG on every boot. The list brings in their dependencies itself.
_INITRAMFS_CONF = "MODULES=list\n"
_INITRAMFS_MODULES = "virtio_pci\nvirtio_blk\next4\n"


def base_files() -> dict[str, tuple[str, int]]:
    """Path in the guest -> (content, mode)."""
    return {
        "/usr/local/lib/declos/apply-seed": (_SEED_SCRIPT, 0o755),
        "/etc/systemd/system/declos-seed.service": (_SEED_UNIT, 0o644),
        SSHD_CONFIG: (_SSHD, 0o644),
        "/etc/systemd/network/10-uplink.network": (_UPLINK, 0o644),
        "/etc/fstab": (_FSTAB, 0o644),
        "/etc/hostname": ("declos-guest\n", 0o644),
        "/etc/hosts": ("127.0.0.1 localhost\n", 0o644),
        "/etc/systemd/journald.conf.d/declos.conf": (_JOURNALD, 0o644),
        "/etc/initramfs-tools/conf.d/declos.conf": (_INITRAMFS_CONF, 0o644),
        "/etc/initramfs-tools/modules": (_INITRAMFS_MODULES, 0o644),
    }


# Run inside the finished root (mmdebstrap customize hooks). Single-quote free.
BASE_CHROOT_COMMANDS: tuple[str, ...] = (
    "systemctl enable systemd-networkd.service declos-seed.service",
    "systemctl mask systemd-networkd-wait-online.service apt-daily.timer "
    "apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer "
    "dpkg-db-backup.timer logrotate.timer serial-getty@ttyS0.service getty@tty1.service "
    "e2scrub_reap.service",
    "update-initramfs -u -k all",
    "rm -f /etc/ssh/ssh_host_*",
    "install -d -m 700 /root/.ssh",
    ": > /etc/machine-id && rm -f /var/lib/dbus/machine-id",
    "rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/*_Packages",
)
