"""`declos options` through the real command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DECLOS = str(Path(sys.executable).with_name("declos"))


def declos(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DECLOS, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_options_json_shape() -> None:
    r = declos("options", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    source = (ROOT / "modules/services/httpd.py").read_text().splitlines()
    line = source.index('    "services.httpd": {') + 2  # `"enable": mk_enable_option(...)`
    assert doc["services.httpd.enable"] == {
        "declarations": [f"modules/services/httpd.py:{line}"],
        "default": {"_type": "literalExpression", "text": "false"},
        "description": "Whether to enable the Apache HTTP Server.",
        "example": {"_type": "literalExpression", "text": "true"},
        "loc": ["services", "httpd", "enable"],
        "readOnly": False,
        "type": "boolean",
    }
    assert doc["users.users.<name>.isNormalUser"]["type"] == "boolean"
    # typed (issue 8): no control characters in what becomes a unit line and a script word
    assert (
        doc["swapDevices.*.device"]["type"] == "string matching the pattern ^[^\\x00-\\x1f\\x7f]+$"
    )
    assert "assertions" not in doc


def test_options_pattern_and_terminal_view() -> None:
    r = declos("options", "networking.hostName")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("networking.hostName\n    The name of the machine.")
    assert "    Type: string matching the pattern" in r.stdout
    assert '    Default: "declos"' in r.stdout
    assert "    Declared in: modules/networking/hostname.py:" in r.stdout


def test_options_glob_markdown() -> None:
    r = declos("options", "--markdown", "services.openssh.*")
    assert r.returncode == 0, r.stderr
    assert "## `services.openssh.enable`" in r.stdout
    assert "## `services.httpd.enable`" not in r.stdout
    assert "*Type:* boolean" in r.stdout


def test_options_with_files_bare(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "options:\n  app.port: {type: port, default: 8080, description: The port.}\n"
    )
    r = declos("options", "--bare", "--json", "m.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "app.port": {
            "declarations": ["m.yaml:2"],
            "default": {"_type": "literalExpression", "text": "8080"},
            "description": "The port.",
            "loc": ["app", "port"],
            "readOnly": False,
            "type": "16 bit unsigned integer; between 0 and 65535 (both inclusive)",
        }
    }


def test_options_no_match_and_errors(tmp_path: Path) -> None:
    r = declos("options", "services.htpd")
    assert (r.returncode, r.stdout) == (1, "")
    assert "error: no option matches `services.htpd'." in r.stderr
    (tmp_path / "bad.yaml").write_text("options:\n  x: {type: nope}\n")
    r = declos("options", "bad.yaml", cwd=tmp_path)
    assert r.returncode == 1
    assert "bad.yaml:2: unknown type `nope'" in r.stderr
    r = declos("options", "a", "b")
    assert r.returncode == 1
    assert "more than one PATTERN" in r.stderr
