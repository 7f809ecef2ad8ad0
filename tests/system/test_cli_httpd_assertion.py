"""`services.httpd.enable` without `adminAddr` is stopped by the module's assertion,
in `declos eval` and `declos build` alike, before anything reaches the store."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from declos.testing.plugin import run_declos

REPO = Path(__file__).resolve().parents[2]
MESSAGE = (
    "error: Failed assertions:\n- services.httpd.adminAddr must be set when services.httpd.enable "
    "is true (the server administrator's e-mail address, Apache's ServerAdmin), "
    "e.g. services.httpd.adminAddr: admin@example.org\n"
)


def declos(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_declos(cwd, *args, timeout=120)


@pytest.mark.parametrize(
    "command", [["eval"], ["build", "--no-out-link", "-c"]], ids=["eval", "build"]
)
def test_httpd_without_admin_addr_is_refused(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "m.yaml").write_text("networking.hostName: web\nservices.httpd.enable: true\n")
    root = tmp_path / "root"
    extra = ["--root", str(root)] if command[0] == "build" else []
    result = declos(tmp_path, *command, "m.yaml", *extra)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", MESSAGE)
    assert list(root.rglob("*-declos-system-web")) == []


def test_trivial_machine_which_sets_it_still_evaluates_and_builds(tmp_path: Path) -> None:
    trivial = str(REPO / "machines/webserver.yaml")
    result = declos(tmp_path, "eval", "-A", "services.httpd.adminAddr", trivial)
    assert (result.returncode, result.stdout) == (0, '"alice@example.org"\n'), result.stderr
    result = declos(
        tmp_path, "build", "--no-out-link", "-c", trivial, "--root", str(tmp_path / "root")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("-declos-system-webserver")
