"""Two hosts' system closures built in one process, in both orders, give the same paths
as each built alone in a fresh process (no evaluation leaks into another; issue 9 §3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from declos.store import Store
from declos.system import build_system

HOST = """
def config(config, pkgs, lib, options):
    tool = pkgs.write_shell_script_bin("greet", "echo {greeting}\\n")
    shared = pkgs.write_text("shared.conf", "same on every host\\n")
    return {{
        "networking.hostName": "{name}",
        "environment.systemPackages": [tool],
        "environment.etc": {{
            "greet.conf": {{"text": f"tool={{tool}}/bin/greet shared={{shared}}\\n"}},
        }},
        "systemd.services.greet": {{
            "wantedBy": ["multi-user.target"],
            "serviceConfig": {{"ExecStart": f"{{tool}}/bin/greet"}},
        }},
    }}
"""


def _hosts(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for name, greeting in (("alpha", "hello"), ("beta", "bonjour")):
        path = tmp_path / f"{name}.py"
        path.write_text(HOST.format(name=name, greeting=greeting))
        files[name] = path
    return files


def _build(root: Path, files: list[Path]) -> list[str]:
    store = Store.open(root)
    try:
        return [build_system([str(f)], store=store).path for f in files]
    finally:
        store.close()


def test_two_hosts_in_both_orders_and_in_a_fresh_process(tmp_path: Path) -> None:
    hosts = _hosts(tmp_path)
    ab = _build(tmp_path / "s1", [hosts["alpha"], hosts["beta"]])
    ba = _build(tmp_path / "s2", [hosts["beta"], hosts["alpha"]])
    assert ab == list(reversed(ba))
    assert ab[0] != ab[1] and ab[0].endswith("-declos-system-alpha")
    script = (
        "import json, sys\n"
        "from declos.store import Store\n"
        "from declos.system import build_system\n"
        "s = Store.open(sys.argv[1])\n"
        "print(json.dumps(build_system([sys.argv[2]], store=s).path))\n"
    )
    alone = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", script, str(tmp_path / f"s-{name}"), str(hosts[name])],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for name in ("alpha", "beta")
    ]
    assert alone == ab
    # The closures agree path for path, not only at the top.
    s1, s2 = Store.open(tmp_path / "s1"), Store.open(tmp_path / "s2")
    assert s1.closure([ab[0]]) == s2.closure([ab[0]])
    assert s1.closure([ab[1]]) == s2.closure([ab[1]])
    assert any(p.endswith("-greet") for p in s1.closure([ab[0]]))  # the string context worked
