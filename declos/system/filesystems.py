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
from declos.system.quoting import sh_dq
from declos.system.services import job_script, path_value
from declos.system.units import Unit, escape_path, service_text, typed_text
from declos.system.writer import Writer

NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "sshfs", "glusterfs", "ceph", "9p"}


class FileSystemError(RenderError):
    """A fileSystems / swapDevices entry that cannot be turned into a unit."""


def _device(where: str, fs: Mapping[str, Any], path: tuple[str, ...] = ()) -> str:
    device = fs["device"]
    label = fs["label"]
    if device:
        return str(device)
    if label:
        return f"/dev/disk/by-label/{label}"
    raise FileSystemError(f"{where}: set `device` or `label`", path)


def mkfs_script(device: str, fs_type: str, label: str | None) -> str:
    """Format `device` when blkid finds no signature; every value a quoted shell word."""
    options = f"-L {sh_dq(label)} " if label else ""
    if fs_type.startswith("ext"):
        options += "-q "
    dev = sh_dq(device)
    return (
        f"type=$(blkid -p -s TYPE -o value {dev} || true)\n"
        'if [ -z "$type" ]; then\n'
        f"  echo {sh_dq(f'creating {fs_type} filesystem on {device}...')}\n"
        f"  mkfs.{fs_type} {options}{dev}\n"
        "fi\n"
    )


def render_filesystems(
    writer: Writer, file_systems: Mapping[str, Mapping[str, Any]]
) -> tuple[list[Unit], list[dict[str, Any]]]:
    units: list[Unit] = []
    entries: list[dict[str, Any]] = []
    for key in sorted(file_systems, key=lambda k: file_systems[k]["mountPoint"]):
        fs = file_systems[key]
        mount_point = "/" + "/".join(p for p in str(fs["mountPoint"]).split("/") if p)
        where = f'fileSystems."{mount_point}"'
        device = _device(where, fs, ("fileSystems", key))
        fs_type = str(fs["fsType"])
        options = [str(o) for o in fs["options"]]
        auto_format = bool(fs["autoFormat"])
        if auto_format and (fs_type == "auto" or not fs["device"]):
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
                "label": fs["label"],
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
            units.append(
                oneshot(
                    writer,
                    f"mkfs-{escape_path(device)}",
                    {
                        "Description": f"Initialisation of filesystem {device}",
                        "Before": [unit_name, f"systemd-fsck@{escape_path(device)}.service"],
                        "Requires": [dev_unit],
                        "After": [dev_unit],
                        "DefaultDependencies": False,
                    },
                    mkfs_script(device, fs_type, fs["label"]),
                    unit_name,
                )
            )
    return units, entries


def oneshot(writer: Writer, stem: str, unit: dict[str, Any], script: str, wanted_by: str) -> Unit:
    """The unit NixOS's filesystems.nix defines for mkfs-*/mkswap-*: a oneshot service
    running `script` (a store script, like a service's `script`), wanted by the unit
    it prepares."""
    service = {"ExecStart": job_script(writer, f"{stem}-start", script), "Type": "oneshot"}
    text = service_text(unit, {"PATH": path_value([])}, service)
    return Unit(name=f"{stem}.service", text=text, wanted_by=(wanted_by,))


def mkswap_script(device: str, size_mib: int) -> str:
    """NixOS's mkswap-* service: (re)create a swap file of the declared size."""
    size = size_mib * 1024 * 1024
    dev = sh_dq(device)
    return (
        f'if [ ! -e {dev} ] || [ "$(stat -c %s {dev})" != "{size}" ]; then\n'
        f"  echo {sh_dq(f'creating swap file {device} ({size_mib} MiB)...')}\n"
        f"  rm -f {dev}\n"
        f"  dd if=/dev/zero of={dev} bs=1M count={size_mib} status=none\n"
        f"  chmod 0600 {dev}\n"
        f"  mkswap {dev}\n"
        "fi\n"
    )


def render_swaps(
    writer: Writer, swaps: list[Mapping[str, Any]]
) -> tuple[list[Unit], list[dict[str, Any]]]:
    units: list[Unit] = []
    entries: list[dict[str, Any]] = []
    for index, swap in enumerate(swaps):
        device = _device(f"swapDevices[{index}]", swap, ("swapDevices",))
        unit_name = escape_path(device) + ".swap"
        config: dict[str, Any] = {"What": device}
        if swap["priority"] is not None:
            config["Priority"] = int(swap["priority"])
        if swap["options"]:
            config["Options"] = ",".join(str(o) for o in swap["options"])
        units.append(
            Unit(name=unit_name, text=typed_text("swap", {}, config), wanted_by=("swap.target",))
        )
        size = swap["size"]
        if size:
            units.append(
                oneshot(
                    writer,
                    f"mkswap-{escape_path(device)}",
                    {
                        "Description": f"Initialisation of swap file {device}",
                        "Before": [unit_name],
                        "DefaultDependencies": False,
                        "RequiresMountsFor": device,
                    },
                    mkswap_script(device, int(size)),
                    unit_name,
                )
            )
        entries.append(
            {
                "device": device,
                "priority": swap["priority"],
                "size": size,
                "options": list(swap["options"]),
                "unit": unit_name,
            }
        )
    return units, entries
