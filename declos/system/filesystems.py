"""`fileSystems` and `swapDevices` -> .mount / .swap units and system.json entries.

NixOS writes /etc/fstab and lets systemd-fstab-generator make the units; on a Debian host
/etc/fstab belongs to the distribution, so declos ships the units themselves (named with
systemd-escape --path, wanted by local-fs.target / swap.target). `autoFormat` becomes the
NixOS `mkfs-DEVICE.service` pulled in by the mount, formatting only a device with no
filesystem signature. "/" is recorded but never gets a unit: the host mounts its root.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from declos.system.errors import RenderError
from declos.system.services import render_service
from declos.system.units import Unit, escape_path, typed_text
from declos.system.writer import Writer

NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "sshfs", "glusterfs", "ceph", "9p"}


class FileSystemError(RenderError):
    """A fileSystems / swapDevices entry that cannot be turned into a unit."""


def _device(where: str, fs: Mapping[str, Any], path: tuple[str, ...] = ()) -> str:
    device = fs.get("device")
    label = fs.get("label")
    if device:
        return str(device)
    if label:
        return f"/dev/disk/by-label/{label}"
    raise FileSystemError(f"{where}: set `device` or `label`", path)


def mkfs_script(device: str, fs_type: str, label: str | None) -> str:
    options = f"-L {label} " if label else ""
    if fs_type.startswith("ext"):
        options += "-q "
    return (
        f'type=$(blkid -p -s TYPE -o value "{device}" || true)\n'
        'if [ -z "$type" ]; then\n'
        f'  echo "creating {fs_type} filesystem on {device}..."\n'
        f'  mkfs.{fs_type} {options}"{device}"\n'
        "fi\n"
    )


def render_filesystems(
    writer: Writer, file_systems: Mapping[str, Mapping[str, Any]]
) -> tuple[list[Unit], list[dict[str, Any]]]:
    units: list[Unit] = []
    entries: list[dict[str, Any]] = []
    for key in sorted(file_systems, key=lambda k: (file_systems[k] or {}).get("mountPoint") or k):
        fs = file_systems[key] or {}
        mount_point = "/" + "/".join(p for p in str(fs.get("mountPoint") or key).split("/") if p)
        where = f'fileSystems."{mount_point}"'
        device = _device(where, fs, ("fileSystems", key))
        fs_type = str(fs.get("fsType") or "auto")
        options = [str(o) for o in fs.get("options") or ["defaults"]]
        auto_format = bool(fs.get("autoFormat", False))
        if auto_format and (fs_type == "auto" or not fs.get("device")):
            raise FileSystemError(
                f"{where}: autoFormat needs both `device` and a concrete `fsType`",
                ("fileSystems", key, "autoFormat"),
            )
        unit_name = escape_path(mount_point) + ".mount"
        entries.append(
            {
                "mountPoint": mount_point,
                "device": device,
                "fsType": fs_type,
                "options": options,
                "autoFormat": auto_format,
                "label": fs.get("label"),
                "unit": None if mount_point == "/" else unit_name,
            }
        )
        if mount_point == "/":
            continue
        network = fs_type in NETWORK_FS
        unit_config: dict[str, Any] = {
            "Before": ["remote-fs.target" if network else "local-fs.target"]
        }
        mount = {
            "What": device,
            "Where": mount_point,
            "Type": fs_type,
            "Options": ",".join(options),
        }
        units.append(
            Unit(
                name=unit_name,
                text=typed_text("mount", unit_config, mount),
                wanted_by=("remote-fs.target" if network else "local-fs.target",),
            )
        )
        if auto_format:
            dev_unit = escape_path(device) + ".device"
            stem = f"mkfs-{escape_path(device)}"
            mkfs = render_service(
                writer,
                stem,
                {
                    "description": f"Initialisation of filesystem {device}",
                    "before": [unit_name, f"systemd-fsck@{escape_path(device)}.service"],
                    "requires": [dev_unit],
                    "after": [dev_unit],
                    "unitConfig": {"DefaultDependencies": False},
                    "serviceConfig": {"Type": "oneshot"},
                    "script": mkfs_script(device, fs_type, fs.get("label")),
                    "wantedBy": [unit_name],
                },
            )
            units.append(mkfs)
    return units, entries


def mkswap_script(device: str, size_mib: int) -> str:
    """NixOS's mkswap-* service: (re)create a swap file of the declared size."""
    size = size_mib * 1024 * 1024
    return (
        f'if [ ! -e "{device}" ] || [ "$(stat -c %s "{device}")" != "{size}" ]; then\n'
        f'  echo "creating swap file {device} ({size_mib} MiB)..."\n'
        f'  rm -f "{device}"\n'
        f'  dd if=/dev/zero of="{device}" bs=1M count={size_mib} status=none\n'
        f'  chmod 0600 "{device}"\n'
        f'  mkswap "{device}"\n'
        "fi\n"
    )


def render_swaps(
    writer: Writer, swaps: list[Mapping[str, Any]]
) -> tuple[list[Unit], list[dict[str, Any]]]:
    units: list[Unit] = []
    entries: list[dict[str, Any]] = []
    for index, swap in enumerate(swaps):
        device = _device(f"swapDevices[{index}]", swap or {}, ("swapDevices",))
        unit_name = escape_path(device) + ".swap"
        config: dict[str, Any] = {"What": device}
        if swap.get("priority") is not None:
            config["Priority"] = int(swap["priority"])
        if swap.get("options"):
            config["Options"] = ",".join(str(o) for o in swap["options"])
        units.append(
            Unit(name=unit_name, text=typed_text("swap", {}, config), wanted_by=("swap.target",))
        )
        size = swap.get("size")
        if size:
            units.append(
                render_service(
                    writer,
                    f"mkswap-{escape_path(device)}",
                    {
                        "description": f"Initialisation of swap file {device}",
                        "before": [unit_name],
                        "unitConfig": {"DefaultDependencies": False, "RequiresMountsFor": device},
                        "serviceConfig": {"Type": "oneshot"},
                        "script": mkswap_script(device, int(size)),
                        "wantedBy": [unit_name],
                    },
                )
            )
        entries.append(
            {
                "device": device,
                "priority": swap.get("priority"),
                "size": size,
                "options": list(swap.get("options") or []),
                "unit": unit_name,
            }
        )
    return units, entries
