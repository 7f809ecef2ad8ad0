"""`declos eval` through the real command: stdout, stderr, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DECLOS = str(Path(sys.executable).with_name("declos"))


def declos(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DECLOS, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_eval_trivial_readable() -> None:
    r = declos("eval", "machines/webserver.yaml", "-A", "services.httpd")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.startswith(
        '{\n  enable = true;\n  package = null;\n  adminAddr = "alice@example.org";\n'
    )


def test_eval_trivial_json_whole_config() -> None:
    r = declos("eval", "--json", "machines/webserver.yaml")
    assert r.returncode == 0, r.stderr
    config = json.loads(r.stdout)
    # services.openssh opens its port in its module (openFirewall), as in NixOS.
    assert config["networking"]["firewall"]["allowedTCPPorts"] == [80, 22]
    assert config["services"]["httpd"]["documentRoot"] == "/srv/www"
    assert config["deployment"]["targetEnv"] == "libvirt"


def test_eval_json_path() -> None:
    r = declos("eval", "--json", "-A", "networking.hostName", "machines/webserver.yaml")
    assert (r.returncode, r.stdout) == (0, '"webserver"\n')


def test_eval_bare_only_sees_given_modules(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("options:\n  x: {type: int, default: 1}\nconfig:\n  x: 2\n")
    r = declos("eval", "--bare", "--json", "m.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"assertions": [], "warnings": [], "x": 2}


@pytest.mark.parametrize(
    ("files", "text", "fragment"),
    [
        (
            ["m.yaml"],
            "networking.hostNam: x\n",
            "error: The option `networking.hostNam' does not exist. Definition values:\n- In `m.yaml:1': \"x\"",
        ),
        (
            ["m.yaml"],
            "networking.hostName: !force 5\n",
            "A definition for option `networking.hostName' is not of type",
        ),
        (
            ["m.yaml", "n.yaml"],
            "services.httpd.adminAddr: a@b\n",
            'The option `services.httpd.adminAddr\' has conflicting definition values:\n- In `m.yaml:1\': "a@b"\n- In `n.yaml:1\': "c@d"',
        ),
    ],
)
def test_eval_errors_exit_1_on_stderr_with_file_line(
    tmp_path: Path, files: list[str], text: str, fragment: str
) -> None:
    (tmp_path / "m.yaml").write_text(text)
    (tmp_path / "n.yaml").write_text("services.httpd.adminAddr: c@d\n")
    r = declos("eval", *files, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert fragment in r.stderr


def test_eval_missing_path_and_missing_file(tmp_path: Path) -> None:
    r = declos("eval", "-A", "services.htpd", str(ROOT / "machines/webserver.yaml"), cwd=tmp_path)
    assert r.returncode == 1
    assert (
        "attribute `htpd' in selection path `services.htpd' not found\n\nDid you mean `services.httpd'"
        in r.stderr
    )
    r = declos("eval", "nope.yaml", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (1, "")
    assert "error: The module file `nope.yaml' does not exist." in r.stderr


def test_eval_prints_warnings_once_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("warnings: [mind the gap, mind the gap]\n")
    r = declos("eval", "-A", "networking.hostName", "m.yaml", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stderr == "warning: mind the gap\n"
    assert r.stdout == '"declos"\n'


def test_eval_failed_assertion(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "assertions:\n  - assertion: \"{{ config.networking.hostName != 'declos' }}\"\n    message: set a host name\n"
    )
    r = declos("eval", "m.yaml", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == "error: Failed assertions:\n- set a host name\n"


def test_eval_usage_errors() -> None:
    r = declos("eval")
    assert r.returncode == 2
    assert "FILE" in r.stderr
