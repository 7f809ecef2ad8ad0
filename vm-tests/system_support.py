"""The system tests' lab: configs built on the test machine, copied into a booted guest
and activated there against real systemd, through the library's host layer.

This is the path `declos deploy` takes (`build_system` here, then
`declos.hosts.pipeline.push_and_activate`: `Host.copy_closure_to` over SSH and
`Host.activate` there), so the VM tests exercise exactly what users run. One lab per pytest
session, shared by every test_system_*.py file (a module-level cache, because fixtures
defined outside conftest.py are per module): machine "sys" (an extra blank disk, LAN 7)
and machine "peer" on the same LAN, which only ever looks at sys from outside. Tests
return sys to its booted state with a snapshot restore instead of a reboot.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from declos.hosts import ActivationOutcome, CopyStats, HostError
from declos.hosts.pipeline import push_and_activate
from declos.store import Store
from declos.system import build_system
from declos.testing import Machine
from declos.testing.driver import Driver
from declos.testing.spec import MachineSpec
from declos.virt.domain import DomainSpec

CONFIGS = Path(__file__).resolve().parent / "configs"
LAN = 7
# The plain QEMU runner: the guest sees the same virtual hardware as under libvirt, and
# preparing a machine costs no libvirtd round trips (measured 56-110 s per machine under
# load with libvirt, well under a second with qemu).
SYS = MachineSpec("sys", memory=768, vcpus=2, disks=(64,), lans=(LAN,), runner="qemu")
PEER = MachineSpec("peer", memory=384, vcpus=1, lans=(LAN,), runner="qemu")
CLEAN = "system-clean"
STATE = "/declos/var"
ACTIVATION_TIMEOUT = 300.0

# What "the host's state" means for tests that must prove nothing changed (dry-activate,
# a refused switch): every place an activation writes, with modification times.
FINGERPRINT = " ; ".join(
    [
        "sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow",
        "ls -la --time-style=+%s.%N /etc/declos-test /etc/.declos-static 2>&1",
        "cat /etc/declos-test/* 2>&1",
        f"ls -la --time-style=+%s.%N {STATE}/profiles 2>&1",
        # (the lock file is rewritten with the pid of every run, dry or not: not a change)
        f"ls -la --time-style=+%s.%N {STATE}/activation 2>&1 | grep -v ' lock$'",
        "readlink /run/declos/current-system",
        "nft list ruleset",
        "systemctl show -p Id -p ActiveState -p ActiveEnterTimestampMonotonic -p ExecStart "
        "-p Environment changer.service steady.service web.service 2>&1",
        "findmnt -rn -o SOURCE,TARGET,FSTYPE /data || true",
        "hostname",
    ]
)


def config_file(name: str) -> Path:
    """vm-tests/configs/NAME.yaml (or .py)."""
    for suffix in (".yaml", ".py"):
        path = CONFIGS / f"{name}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"no config {name} in {CONFIGS}")


@dataclass
class Activation:
    """One run of TOP/activate in the guest (the host layer's ActivationOutcome)."""

    status: int
    output: str

    @classmethod
    def of(cls, outcome: ActivationOutcome) -> Activation:
        return cls(outcome.exit_code, outcome.output)

    @property
    def lines(self) -> list[str]:
        return self.output.splitlines()


@dataclass
class SystemLab:
    """The machines of the system tests and the host-side store their closures come from."""

    driver: Driver
    sys: Machine
    peer: Machine
    store_root: Path
    built: dict[str, str] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return Store.open(root=str(self.store_root))

    # ---- build and copy, as deploy does ------------------------------------------------
    def build(self, name: str) -> str:
        """Build configs/NAME with the real builder into the host-side store; return TOP."""
        if name not in self.built:
            store = self.store
            try:
                result = build_system([str(config_file(name))], store=store)
            finally:
                store.close()
            self.built[name] = result.path
        return self.built[name]

    def push(self, top: str) -> CopyStats:
        """Copy TOP's closure into sys's /declos/store over its forwarded SSH port."""
        store = self.store
        try:
            return self.sys.host.copy_closure_to(store, [top])
        finally:
            store.close()

    def activator_of(self, top: str) -> str:
        """The activator store path TOP runs (its `activator` link)."""
        store = self.store
        try:
            return os.readlink(store.real_path(f"{top}/activator"))
        finally:
            store.close()

    def deploy(self, name: str) -> str:
        """build + push; returns TOP (already present paths are not sent again)."""
        top = self.build(name)
        self.push(top)
        return top

    # ---- run in the guest --------------------------------------------------------------
    def activate(self, top: str, action: str) -> Activation:
        """TOP/activate ACTION in sys, through the host layer (Host.activate)."""
        return Activation.of(self.sys.host.activate(top, action, timeout=ACTIVATION_TIMEOUT))

    def switch(self, name: str) -> tuple[str, Activation]:
        """build + push_and_activate(`switch`), which must succeed; returns (TOP, its run)."""
        top = self.build(name)
        store = self.store
        try:
            pushed = push_and_activate(
                self.sys.host, store, top, "switch", timeout=ACTIVATION_TIMEOUT
            )
        finally:
            store.close()
        run = Activation.of(pushed.activation)
        assert run.status == 0, f"switch to {name} failed ({run.status}):\n{run.output}"
        return top, run

    def fingerprint(self) -> str:
        return self.sys.succeed(FINGERPRINT)

    def active_since(self, unit: str) -> str:
        """ActiveEnterTimestamp: changes exactly when systemd (re)starts the unit."""
        return self.sys.succeed(f"systemctl show -P ActiveEnterTimestamp {unit}").strip()

    def peer_reaches(self, port: int) -> bool:
        """Whether peer can open a TCP connection to sys's LAN address on `port`."""
        address = self.sys.lan_address(LAN)
        return self.peer.execute(f"nc -z -w 3 {address} {port}", timeout=60)[0] == 0

    def login_shell(self, command: str) -> str:
        """Run `command` in a root login shell (sources /etc/profile and profile.d)."""
        return self.sys.succeed(f"bash -lc {shlex.quote(command)}")

    def reset(self) -> Machine:
        """Return sys to its freshly booted state (snapshot restore, a few seconds)."""
        self.sys.restore(CLEAN)
        return self.sys

    def start_from(self, name: str) -> str:
        """sys freshly booted and switched to configs/NAME; returns its TOP.

        The first call per session does the switch and snapshots the result; later calls
        restore that snapshot (seconds instead of a switch that formats a disk)."""
        snapshot = f"system-{name}"
        if snapshot in self.sys.snapshots:
            self.sys.restore(snapshot)
            return self.build(name)
        top = self._switch_from_clean(name)
        self.sys.snapshot(snapshot)
        return top

    def _switch_from_clean(self, name: str) -> str:
        """Restore the clean snapshot and switch to configs/NAME; once more if the guest hung.

        A TCG guest has been seen to stall both vCPUs right after a snapshot restore (soft
        lockups on the console, SSH dead). That is the emulator's, not declos's: the setup
        starts over from the snapshot, once. A switch that fails without a hang report
        fails the test as before."""
        mark = self.sys.console_mark()
        self.reset()
        try:
            return self.switch(name)[0]
        except (AssertionError, HostError):
            hang = self.sys.hang_since(mark)
            if hang is None:
                raise
            self.sys.log.line(f"{self.sys.name}: guest hung ({hang}); starting over")
        self.reset()
        return self.switch(name)[0]

    # ---- boot ---------------------------------------------------------------------------
    def cold_boot(self, extra_cmdline: str = "") -> None:
        """Power sys off and boot it with `extra_cmdline` appended to the kernel command line.

        The harness boots kernel and initrd directly (no GRUB), so choosing a GRUB entry
        is simulated by passing the parameter that entry would pass (declos.generation=N).
        """
        self.sys.shutdown()
        self.sys.domain.spec.cmdline = DomainSpec.default_cmdline(extra_cmdline)
        define = getattr(self.sys.domain, "define", None)
        if define is not None:  # libvirt keeps the XML; the qemu runner reads the spec
            define()
        self.sys.start()
        self.sys.wait_for_ssh()
        # Not wait_for_unit: it can see the target inactive and, a moment later, no job
        # left (the job just finished), and then reports it as never becoming active.
        self.sys.wait_until_succeeds("systemctl is-active multi-user.target")


def system_lab(driver: Driver, store_root: Path) -> SystemLab:
    """Boot the lab: the session fixture in conftest.py calls this once (destroyed with the driver)."""
    sys_machine, peer = driver.boot(SYS, PEER)
    sys_machine.wait_for_unit("multi-user.target")
    peer.wait_for_unit("multi-user.target")
    sys_machine.snapshot(CLEAN)
    store_root.mkdir(parents=True, exist_ok=True)
    return SystemLab(driver, sys_machine, peer, store_root)


def clean_lab(lab: SystemLab, start: str | None = None) -> Iterator[SystemLab]:
    """Body of a per-test fixture: sys freshly booted, or already switched to configs/START."""
    if start is None:
        lab.reset()
    else:
        lab.start_from(start)
    yield lab


# ---- declos installed inside a guest from the project's own wheel ----------------------
REPO = Path(__file__).resolve().parent.parent
_WHEEL_SOURCES = ("declos", "pyproject.toml", "README.md")


def project_dependencies() -> list[str]:
    """`[project] dependencies` of pyproject.toml: what `pip install declos` pulls in."""
    import tomllib

    with open(REPO / "pyproject.toml", "rb") as handle:
        return list(tomllib.load(handle)["project"]["dependencies"])


def dependency_wheels(cache: Path) -> Path:
    """Wheels of declos's dependencies (and of pip, the guest's installer), downloaded by
    pip on this machine once and kept in `cache` under a key of the dependency list: the
    guest has no network."""
    import hashlib
    import os
    import shutil
    import subprocess
    import sys

    wanted = [*project_dependencies(), "pip"]
    key = hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:16]
    target = cache / f"guest-wheels-{key}"
    if (target / ".complete").exists():
        return target
    partial = cache / f"guest-wheels-{key}.partial-{os.getpid()}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--only-binary=:all:",
            "--dest",
            str(partial),
            *wanted,
        ],
        check=True,
    )
    (partial / ".complete").write_text("\n".join(wanted) + "\n")
    try:
        partial.rename(target)
    except OSError:  # another session finished the same download first
        shutil.rmtree(partial)
    return target


def project_wheel(workdir: Path) -> Path:
    """Build declos's wheel from a copy of the checkout (the build leaves its build/ and
    egg-info there, never in the repository); returns the .whl file."""
    import shutil
    import subprocess
    import sys

    src = workdir / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in _WHEEL_SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, src / name)
    out = workdir / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--wheel-dir",
            str(out),
            str(src),
        ],
        check=True,
    )
    (wheel,) = out.glob("declos-*.whl")
    return wheel


def wheel_cache() -> Path:
    """The user's cache directory for downloaded wheels (beside the VM image cache)."""
    from declos.virt.image import cache_root

    path = cache_root() / "wheels"
    path.mkdir(parents=True, exist_ok=True)
    return path
