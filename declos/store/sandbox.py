"""Running an external builder in a Linux-namespace sandbox, as Nix does on Linux.

The builder sees a private root: the host's /usr (and merged-usr symlinks) read-only so
ordinary tools like bash exist, the input closure read-only at its logical store path,
its own output directory writable, /build as cwd and TMPDIR, a fresh /proc, a few /dev
nodes, and no network unless the derivation is fixed-output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable

from declos.store.errors import StoreError

_INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_init.py")
_DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")
_HOST_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")


# If declos is killed, the sandbox (and its builder) goes too: setpriv sets
# PR_SET_PDEATHSIG(SIGKILL) and execs unshare, whose --kill-child does the same for the
# namespace's init. (Not a preexec_fn: declos builds from threads, and code between
# fork and exec in a threaded process can deadlock.)
_DIE_WITH_PARENT = ("setpriv", "--pdeathsig", "KILL", "--")


def build_env(drv_env: dict[str, str], store_dir: str, cores: int | None = None) -> dict[str, str]:
    """The builder's environment: Nix's fixed variables, then the derivation's env.

    NIX_BUILD_CORES is every core by default, as Nix's `cores = 0`: it is not part of the
    derivation (the output path does not depend on it), and `make -j` on one core made the
    source builds (nginx, the Python sdists) take twice as long as they need."""
    env = {
        "PATH": "/path-not-set",
        "HOME": "/homeless-shelter",
        "NIX_STORE": store_dir,
        "NIX_BUILD_CORES": str(cores or os.cpu_count() or 1),
        "NIX_BUILD_TOP": "/build",
        "TMPDIR": "/build",
        "TEMPDIR": "/build",
        "TMP": "/build",
        "TEMP": "/build",
        "PWD": "/build",
        "NIX_LOG_FD": "2",
        "TERM": "xterm-256color",
    }
    env.update(drv_env)
    return env


def run_sandboxed(
    *,
    work: str,
    store_dir: str,
    physical_store: str,
    inputs: Iterable[str],
    outputs: Iterable[str],
    builder: str,
    args: list[str],
    env: dict[str, str],
    network: bool,
    log_path: str,
) -> int:
    """Build in `work` (root/ and build/ under it); outputs appear under work/root/STORE."""
    root = os.path.join(work, "root")
    os.makedirs(root + "/build", exist_ok=True)
    os.makedirs(root + store_dir, exist_ok=True)
    os.makedirs(root + "/etc", exist_ok=True)
    with open(root + "/etc/passwd", "w") as f:
        f.write(
            "root:x:0:0:Nix build user:/build:/noshell\nnobody:x:65534:65534:Nobody:/:/noshell\n"
        )
    with open(root + "/etc/group", "w") as f:
        f.write("root:x:0:\nnixbld:!:100:\nnogroup:x:65534:\n")
    with open(root + "/etc/hosts", "w") as f:
        f.write("127.0.0.1 localhost\n::1 localhost\n")
    binds: list[tuple[str, str, bool]] = []
    symlinks: list[tuple[str, str]] = []
    for d in _HOST_DIRS:
        if os.path.islink(d):
            symlinks.append((os.readlink(d), d))
        elif os.path.isdir(d):
            binds.append((d, d, True))
    if network:
        for name in ("/etc/resolv.conf", "/etc/ssl", "/etc/nsswitch.conf", "/etc/services"):
            if os.path.exists(name):
                binds.append((name, name, True))
    for node in _DEV_NODES:
        if os.path.exists(f"/dev/{node}"):
            binds.append((f"/dev/{node}", f"/dev/{node}", False))
    symlinks += [
        ("/proc/self/fd", "/dev/fd"),
        ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"),
        ("/proc/self/fd/2", "/dev/stderr"),
    ]
    os.makedirs(root + "/dev/shm", exist_ok=True)
    os.makedirs(root + "/tmp", exist_ok=True)
    os.chmod(root + "/tmp", 0o1777)
    for p in sorted(set(inputs)):
        rel = p[len(store_dir) :]
        binds.append((physical_store + rel, store_dir + rel, True))
    for o in outputs:
        if os.path.lexists(root + o):
            shutil.rmtree(root + o)
    spec = {
        "root": root,
        "binds": binds,
        "symlinks": symlinks,
        "cwd": "/build",
        "builder": builder,
        "args": args,
        "env": env,
    }
    spec_path = os.path.join(work, "sandbox.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    cmd = [*_DIE_WITH_PARENT, "unshare", "--mount", "--pid", "--fork", "--kill-child"]
    cmd += ["--ipc", "--uts"]
    if not network:
        cmd.append("--net")
    if os.geteuid() != 0:
        cmd += ["--user", "--map-root-user"]
    cmd += [sys.executable, "-I", "-S", _INIT, spec_path]
    for tool in ("setpriv", "unshare"):
        if shutil.which(tool) is None:
            raise StoreError(f"the build sandbox needs `{tool}` (Debian package util-linux)")
    with open(log_path, "ab") as log:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={},
        )
    return proc.returncode
