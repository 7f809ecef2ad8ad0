"""The talk's Pyramid deployment as a declos configuration: the system closure's unit runs
pserve from the store with no PYTHONPATH, and that command answers HTTP."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from declos.pkgs.python.lockfile import PyLock
from declos.store import Store
from declos.system.build import build_system

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_pyramid_service_runs_pserve_from_the_store(
    pylock: PyLock, py_store: Store, tmp_path: Path
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
    proc = subprocess.Popen([pserve, ini], env={}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        body = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert body == "hello from declos"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
