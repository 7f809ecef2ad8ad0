"""qcow2 files for VMs: overlays on the cached base image, and blank extra disks."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from declos.virt.errors import VirtError

GIB = 1 << 30


def _qemu_img(*args: str) -> str:
    proc = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise VirtError(f"qemu-img {args[0]} failed: {proc.stderr.strip()}")
    return proc.stdout


def virtual_size(path: Path) -> int:
    """The disk size a guest sees, in bytes (`-U`: the base may be in use by running VMs)."""
    return int(json.loads(_qemu_img("info", "-U", "--output=json", str(path)))["virtual-size"])


def create_overlay(base: Path, path: Path, size_gib: int | None = None) -> Path:
    """A copy-on-write qcow2 whose backing file is `base` (which is never written).

    `size_gib` makes the overlay's disk larger than the base's (the space past the base's
    end reads as zeros until written; the guest's filesystem must be grown to use it);
    a size below the base's would cut its filesystem off, so it is refused."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size: list[str] = []
    if size_gib is not None:
        base_size = virtual_size(base)
        if size_gib * GIB < base_size:
            raise VirtError(
                f"a disk of {size_gib} GiB is smaller than the base image's "
                f"{base_size / GIB:g} GiB ({base}); give at least {-(-base_size // GIB)}"
            )
        size = [f"{size_gib}G"]
    _qemu_img("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base), str(path), *size)
    return path


def create_blank(path: Path, size_mib: int) -> Path:
    """An empty qcow2 disk of `size_mib` MiB (sparse: costs nothing until written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _qemu_img("create", "-q", "-f", "qcow2", str(path), f"{size_mib}M")
    return path
