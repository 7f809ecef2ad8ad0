"""qcow2 files for VMs: overlays on the cached base image, and blank extra disks."""

from __future__ import annotations

import subprocess
from pathlib import Path

from declos.virt.errors import VirtError


def _qemu_img(*args: str) -> None:
    proc = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise VirtError(f"qemu-img {args[0]} failed: {proc.stderr.strip()}")


def create_overlay(base: Path, path: Path) -> Path:
    """A copy-on-write qcow2 whose backing file is `base` (which is never written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _qemu_img("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base), str(path))
    return path


def create_blank(path: Path, size_mib: int) -> Path:
    """An empty qcow2 disk of `size_mib` MiB (sparse: costs nothing until written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _qemu_img("create", "-q", "-f", "qcow2", str(path), f"{size_mib}M")
    return path
