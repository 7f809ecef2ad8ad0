"""pytest integration: fixtures that hand tests booted Machines.

Register it from a conftest.py with ``from declos.testing.plugin import *  # noqa``.

Fixtures:
- ``vm_driver`` (session): the Driver owning every VM of the run.
- ``vm_machines`` (function): a factory, ``a, b = vm_machines(MachineSpec("a"), ...)``;
  the machines are booted together and destroyed when the test ends.
- ``guest`` (session VM, clean state): one shared booted Debian guest (libvirt runner,
  1024 MiB, 2 vCPUs, on LAN 1). Tests that do not disturb it share it for free.
- ``fresh_guest`` (function): the same VM, for tests that change it: after such a test
  the next user gets it back in the booted state through a snapshot restore (seconds).
- ``machines_fixture(*specs, scope="module")``: makes a fixture for a module's own
  machines (a dict name -> Machine, booted once for the whole module).

Tests using any of them are marked ``vm``. When a test fails, the last lines of the
serial console of every machine it used are added to the report.

``run_declos(cwd, *args, env=..., stdin=..., timeout=...)`` runs the declos command line
of this interpreter as a separate process (tests/ and vm-tests/ share it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from declos.testing.driver import Driver
from declos.testing.leaks import destroy_domains_under
from declos.testing.log import LOGGER
from declos.testing.machine import Machine
from declos.testing.spec import MachineSpec

__all__ = [
    "vm_driver",
    "vm_machines",
    "guest",
    "fresh_guest",
    "_shared_guest",
    "machines_fixture",
    "_no_leaked_domains",
    "pytest_collection_modifyitems",
    "pytest_runtest_setup",
    "pytest_runtest_makereport",
    "run_declos",
]

GUEST_SPEC = MachineSpec("guest", memory=1024, vcpus=2, lans=(1,), runner="libvirt")
CLEAN = "declos-clean"
CONSOLE_REPORT_LINES = 60
_started = pytest.StashKey[float]()
# The session's driver, kept in the pytest config (not in a module global) for the
# failure report hook.
_driver = pytest.StashKey[Driver]()


@pytest.fixture(scope="session")
def vm_driver(pytestconfig: pytest.Config) -> Iterator[Driver]:
    LOGGER.setLevel("INFO")
    driver = Driver()
    pytestconfig.stash[_driver] = driver
    try:
        yield driver
    finally:
        driver.close()
        del pytestconfig.stash[_driver]


@pytest.fixture(autouse=True)
def _no_leaked_domains(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """After every test of a conftest that imports this plugin (passed, failed or
    interrupted), destroy the libvirt domains its `declos create`/`deploy` runs left
    behind (declos.testing.leaks): a leaked TCG guest would hold a core for the rest of
    the run. Tests driving `declos deploy` use no vm fixture, hence no mark check here."""
    yield
    leaked = destroy_domains_under(tmp_path_factory.getbasetemp())
    if leaked:
        LOGGER.warning("destroyed domains left behind by %s: %s", request.node.nodeid, leaked)


@pytest.fixture
def vm_machines(vm_driver: Driver) -> Iterator[Callable[..., list[Machine]]]:
    created: list[Machine] = []

    def boot(*specs: MachineSpec) -> list[Machine]:
        machines = vm_driver.boot(*specs)
        created.extend(machines)
        return machines

    yield boot
    for machine in created:
        vm_driver.destroy(machine)


class SharedGuest:
    """The session's shared guest and whether a test has disturbed it."""

    def __init__(self, machine: Machine, boot_id: str) -> None:
        self.machine = machine
        self.boot_id = boot_id  # at snapshot time: restores must bring back this boot
        self.dirty = False

    def clean(self) -> Machine:
        if self.dirty or not self.machine.is_up():
            if not self.machine.is_up():
                self.machine.start()
            self.machine.restore(CLEAN)
            self.dirty = False
        return self.machine


@pytest.fixture(scope="session")
def _shared_guest(vm_driver: Driver) -> SharedGuest:
    (machine,) = vm_driver.boot(GUEST_SPEC)
    machine.wait_for_unit("multi-user.target")
    boot_id = machine.boot_id()
    machine.snapshot(CLEAN)
    return SharedGuest(machine, boot_id)


@pytest.fixture
def guest(_shared_guest: SharedGuest) -> Machine:
    """The shared booted guest in its clean state; do not change it (use fresh_guest)."""
    return _shared_guest.clean()


@pytest.fixture
def fresh_guest(_shared_guest: SharedGuest) -> Iterator[Machine]:
    """The shared guest in its clean state; anything may change, it is restored after."""
    machine = _shared_guest.clean()
    _shared_guest.dirty = True
    yield machine


def machines_fixture(*specs: MachineSpec, scope: str = "module") -> Any:
    """A fixture booting `specs` once per `scope`; yields {name: Machine}."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def _machines(vm_driver: Driver) -> Iterator[dict[str, Machine]]:
        booted = vm_driver.boot(*specs)
        try:
            yield {m.name: m for m in booted}
        finally:
            for machine in booted:
                vm_driver.destroy(machine)

    return _machines


def run_declos(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`python -m declos ARGS` in `cwd`, with this process's environment plus `env`, as a
    user runs it; text stdout and stderr are captured, the exit code is not checked."""
    return subprocess.run(
        [sys.executable, "-m", "declos", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        input=stdin,
        timeout=timeout,
    )


_VM_FIXTURES = {"vm_driver", "vm_machines", "guest", "fresh_guest", "_shared_guest"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _VM_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.vm)
            # One more run when a hung guest kernel (GuestHang), and nothing else, ended it.
            item.add_marker(pytest.mark.flaky(reruns=1, only_rerun=["GuestHang"]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    item.stash[_started] = time.monotonic()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    driver = item.config.stash.get(_driver, None)
    if not report.failed or driver is None:
        return
    since = item.stash.get(_started, 0.0)
    for name, machine in driver.machines.items():
        if driver.last_used(name) >= since:
            report.sections.append(
                (
                    f"serial console of {name} (last {CONSOLE_REPORT_LINES} lines)",
                    machine.domain.console_tail(CONSOLE_REPORT_LINES),
                )
            )
