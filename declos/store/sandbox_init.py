"""PID 1 of a build sandbox: set up the chroot mounts, then exec the builder.

Runs under `unshare --mount --pid --fork [--net]` as a plain script with only the
standard library (it must not import declos: the chroot has no Python path to it).
argv[1] is a JSON spec written by declos.store.sandbox.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_void_p,
]


def mount(src: str | None, dst: str, fstype: str | None, flags: int) -> None:
    if (
        _libc.mount(
            src.encode() if src else None,
            dst.encode(),
            fstype.encode() if fstype else None,
            flags,
            None,
        )
        != 0
    ):
        err = ctypes.get_errno()
        raise OSError(err, f"mount {src} on {dst}: {os.strerror(err)}")


def bind(src: str, dst: str, readonly: bool) -> None:
    if os.path.islink(src):
        # A store path that is itself a symlink: recreate it (bind mounts follow links).
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.symlink(os.readlink(src), dst)
        return
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst):
            open(dst, "a").close()
    mount(src, dst, None, MS_BIND | MS_REC)
    if readonly:
        mount(None, dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    root = spec["root"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    for src, dst, readonly in spec["binds"]:
        bind(src, root + dst, readonly)
    for target, link in spec["symlinks"]:
        full = root + link
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if not os.path.lexists(full):
            os.symlink(target, full)
    os.makedirs(root + "/proc", exist_ok=True)
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV)
    os.chroot(root)
    os.chdir(spec["cwd"])
    os.umask(0o022)
    os.execve(spec["builder"], [spec["builder"], *spec["args"]], spec["env"])


if __name__ == "__main__":
    try:
        main()
    except OSError as exc:
        print(f"declos sandbox: {exc}", file=sys.stderr)
        sys.exit(127)
