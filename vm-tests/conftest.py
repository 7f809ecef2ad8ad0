"""VM tests: the declos.testing pytest plugin provides the machine fixtures; the issue-5
system tests share one lab (machines "sys" and "peer", a host-side store) per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from system_support import SystemLab, clean_lab, system_lab

from declos.testing.driver import Driver
from declos.testing.plugin import *  # noqa: F401,F403


@pytest.fixture(scope="session")
def system_lab_session(vm_driver: Driver, tmp_path_factory: pytest.TempPathFactory) -> SystemLab:
    return system_lab(vm_driver, tmp_path_factory.mktemp("system-store"))


@pytest.fixture
def lab(system_lab_session: SystemLab) -> Iterator[SystemLab]:
    """sys freshly booted."""
    yield from clean_lab(system_lab_session)
