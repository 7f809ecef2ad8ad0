"""The talk's Pyramid deployment as a declos configuration: the system closure's unit runs
pserve from the store with no PYTHONPATH, and that command answers HTTP."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from declos.pkgs.python.lockfile import PyLock
from declos.store import Store
from declos.system.build import build_system
from declos.testing.driver import free_port

HERE = Path(__file__).parent


def test_pyramid_service_runs_pserve_from_the_store(
    pylock: PyLock, py_store: Store, tmp_path: Path, serve_and_fetch: Callable[..., str]
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(pylock.path, site / "pylock.toml")
    port = free_port()
    text = (HERE / "pyramid_site.py.in").read_text()
    text = text.replace("@PORT@", str(port)).replace("@APP@", str(HERE / "hello_app"))
    (site / "configuration.py").write_text(text)
    result = build_system([str(site / "configuration.py")], store=py_store)
    unit = (Path(result.path) / "units/myproject.service").read_text()
    [exec_start] = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=")]
    pserve, ini = exec_start.removeprefix("ExecStart=").split()
    assert pserve.endswith("-hello-app-1.0/bin/pserve")
    assert ini.endswith("-myproject-production.ini")
    assert "User=myuser" in unit and "PYTHONPATH" not in unit
    body = serve_and_fetch([pserve, ini], port, env={})
    assert body == "hello from declos"
