"""fileSystems on the live host: format empty devices for autoFormat entries.

Mounting, unmounting and remounting are done by the .mount units in the closure through
the unit plan (stopping a removed mount unit unmounts it; `-.mount` is only ever
reloaded). What a unit cannot do is create the filesystem: that happens here, and only
when blkid finds no signature at all on the device, so data is never overwritten.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from declos.activation.errors import MountError
from declos.common.closure_schema import FileSystem


def has_filesystem(device: str) -> bool:
    r = subprocess.run(
        ["blkid", "-p", "-o", "value", "-s", "TYPE", device],
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode == 2:  # blkid: nothing found
        return False
    if r.returncode != 0:
        raise MountError(f"blkid -p {device} failed ({r.returncode}): {r.stderr.strip()}")
    return True


def _device_path(fs: FileSystem) -> str:
    if fs.device.startswith("/dev/"):
        return fs.device
    if fs.label:
        return f"/dev/disk/by-label/{fs.label}"
    return fs.device


def to_format(
    file_systems: tuple[FileSystem, ...] | list[FileSystem], wait: float = 10.0
) -> list[FileSystem]:
    """The autoFormat entries whose device exists and carries no filesystem yet."""
    out = []
    for fs in file_systems:
        if not fs.auto_format or fs.mount_point == "/":
            continue
        dev = _device_path(fs)
        deadline = time.monotonic() + wait
        while not os.path.exists(dev) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not os.path.exists(dev):
            raise MountError(f'fileSystems."{fs.mount_point}": device {dev} does not exist')
        if not has_filesystem(dev):
            out.append(fs)
    return out


def format_device(fs: FileSystem) -> str:
    if fs.fs_type in ("auto", ""):
        raise MountError(f'fileSystems."{fs.mount_point}": autoFormat needs an explicit fsType')
    cmd = [f"mkfs.{fs.fs_type}"]
    if fs.label:
        cmd += ["-L", fs.label]
    if fs.fs_type.startswith("ext"):
        cmd.append("-q")
    cmd.append(_device_path(fs))
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise MountError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    if shutil.which("udevadm"):
        subprocess.run(["udevadm", "settle"], capture_output=True, check=False)
    return f"formatting {_device_path(fs)} as {fs.fs_type} for {fs.mount_point}"
