"""Fixtures for system-closure tests: a private store under a temp root, its writer, and
option values evaluated through the real module library (the builder trusts merged,
typed values, so tests feed it what an evaluation produces)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from declos.config import Evaluation, evaluate
from declos.pkgs import Pkgs
from declos.store import Store
from declos.system.build import BuildResult, build_system
from declos.system.writer import StoreWriter


@pytest.fixture
def writer(store: Store) -> StoreWriter:
    return StoreWriter(store)


@pytest.fixture
def read(store: Store):  # type: ignore[no-untyped-def]
    """Read a store file through the test root (paths in files are logical)."""
    return lambda path: store.real_path(path).read_text()


@pytest.fixture
def evaluated(store: Store) -> Callable[[Mapping[str, Any]], Evaluation]:
    """evaluated(config) -> the Evaluation of the module library plus `config`."""
    return lambda config: evaluate([{"config": dict(config)}], special_args={"pkgs": Pkgs(store)})


@pytest.fixture
def value(evaluated):  # type: ignore[no-untyped-def]
    """value(path, config) -> the merged value of option `path` under `config`."""
    return lambda path, config=None: evaluated(config or {}).value(path)


@pytest.fixture
def build(store: Store) -> Callable[..., BuildResult]:
    """build(config) -> the BuildResult of `config` (a dict module) into the test store."""
    return lambda config, **kw: build_system([{"config": dict(config)}], store=store, **kw)
