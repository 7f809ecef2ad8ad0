"""Network files: machines merged across files (the NixOps logical/physical split),
`defaults:`, `network:`, `nodes.<name>.config`, selection, and errors with file:line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from declos.config import EvaluationError
from declos.deploy.errors import NetworkError, SelectionError
from declos.deploy.evaluate import NetworkEvaluation
from declos.deploy.network import load_network
from declos.deploy.targets import select, target_of
from declos.testing.plugin import run_declos

REPO = Path(__file__).resolve().parents[2]


def write(tmp: Path, name: str, text: str) -> str:
    (tmp / name).write_text(text)
    return str(tmp / name)


def test_logical_and_physical_files_merge_per_machine(tmp_path: Path) -> None:
    logical = write(
        tmp_path,
        "logical.yaml",
        "network: {description: two tiers, enableRollback: true}\n"
        "defaults:\n  deployment.tags: [all]\n"
        "web:\n  networking.hostName: web\n  deployment.tags: [front]\n"
        "db:\n  networking.hostName: db\n",
    )
    physical = write(
        tmp_path,
        "physical.yaml",
        "web: {deployment.targetHost: 127.0.0.1, deployment.targetPort: 2201}\n"
        "db: {deployment.targetHost: 127.0.0.1, deployment.targetPort: 2202}\n",
    )
    net = load_network([logical, physical])
    assert net.description == "two tiers" and net.enable_rollback is True
    assert sorted(net.machines) == ["db", "web"]
    ev = NetworkEvaluation(net)
    web = target_of("web", ev.evaluation("web").value("deployment"))
    assert (web.host, web.port, web.tags) == ("127.0.0.1", 2201, ("all", "front"))
    assert ev.evaluation("db").value("networking.hostName") == "db"


def test_nodes_reads_other_machines_final_config(tmp_path: Path) -> None:
    net = write(
        tmp_path,
        "net.yaml",
        "lb:\n  environment.etc.backends.text: "
        '"{% for n in nodes %}{{ nodes[n].config.networking.hostName }} {% endfor %}"\n'
        "b1: {networking.hostName: backend-1}\n"
        "b2: {networking.hostName: backend-2}\n",
    )
    ev = NetworkEvaluation(load_network([net]))
    assert ev.evaluation("lb").value("environment.etc")["backends"]["text"] == (
        "backend-1 backend-2 lb "
    )


def test_error_names_machine_and_file_line(tmp_path: Path) -> None:
    net = write(
        tmp_path, "net.yaml", "web:\n  networking.hostName: ok\n  services.htpd.enable: true\n"
    )
    ev = NetworkEvaluation(load_network([net]))
    with pytest.raises(EvaluationError) as err:
        ev.evaluation("web")
    text = str(err.value)
    assert text.startswith("machine 'web': ")
    assert f"{net}:3" in text or "net.yaml:3" in text
    assert "services.htpd" in text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("network: {colour: red}\nweb: {}\n", "net.yaml:1: unknown network attribute 'colour'"),
        ("web: [1, 2]\n", "net.yaml:1: machine 'web' must be a mapping of options"),
        ("'bad name!': {}\n", "net.yaml:1: 'bad name!' is not a valid machine name"),
        ("network: {description: x}\n", "the network defines no machine"),
        ("imports: [a.yaml]\nweb: {}\n", "a network file holds machines, not `imports:`"),
        ("web:\n  imports: 3\n", "net.yaml:1: web.imports must be a list of module paths"),
    ],
)
def test_malformed_network_files(tmp_path: Path, text: str, fragment: str) -> None:
    net = write(tmp_path, "net.yaml", text)
    with pytest.raises(NetworkError) as err:
        load_network([net])
    assert fragment in str(err.value)


def test_selection_globs_tags_include_exclude() -> None:
    names = ["db-1", "web-1", "web-2"]
    tags = {"db-1": ["backend"], "web-1": ["front", "eu"], "web-2": ["front"]}
    assert select(names, tags, on="web-*") == ["web-1", "web-2"]
    assert select(names, tags, on="@back*,web-2") == ["db-1", "web-2"]
    assert select(names, tags, on="@front", exclude=["web-1"]) == ["web-2"]
    assert select(names, tags, include=["db-1"]) == ["db-1"]
    with pytest.raises(SelectionError, match="--on: '@nope' matches no machine"):
        select(names, tags, on="@nope")
    with pytest.raises(SelectionError, match="--exclude: no machine named 'x'"):
        select(names, tags, exclude=["x"])
    with pytest.raises(SelectionError, match="the selection is empty"):
        select(names, tags, on="web-1", exclude=["web-1"])


def declos(tmp: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"DECLOS_STATE": str(tmp / "state.db")}
    return run_declos(tmp, *args, env=env, stdin=stdin, timeout=60)


def test_cli_create_info_show_option_export_import(tmp_path: Path) -> None:
    write(
        tmp_path, "net.yaml", "web:\n  deployment.targetHost: 127.0.0.1\n  deployment.tags: [a]\n"
    )
    r = declos(tmp_path, "create", "-d", "trivial", "net.yaml")
    assert r.returncode == 0, r.stderr
    uuid = r.stdout.strip()
    assert len(uuid) == 36
    r = declos(tmp_path, "info")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].split() == ["web", "new", "none", "127.0.0.1:22", "-", "-", "-"]
    r = declos(tmp_path, "show-option", "web", "deployment.tags")
    assert json.loads(r.stdout) == ["a"]
    exported = declos(tmp_path, "export", "-d", "trivial").stdout
    assert json.loads(exported)["deployments"][uuid]["name"] == "trivial"
    r = declos(tmp_path, "import", stdin=exported)
    assert r.returncode == 1
    assert "error: deployment 'trivial'" in r.stderr and "exists already" in r.stderr
    assert declos(tmp_path, "delete", "-d", "trivial").returncode == 0
    r = declos(tmp_path, "import", stdin=exported)
    assert (r.returncode, r.stdout) == (0, "imported trivial\n")
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ("info",),
            "error: no deployment exists yet (no state at ",
        ),
        (("create", "-d", "x", "missing.yaml"), "error: network file missing.yaml does not exist"),
        (("info", "-d", "nope"), "error: no deployment named 'nope'"),
    ],
)
def test_cli_errors_have_no_traceback(tmp_path: Path, args: tuple[str, ...], fragment: str) -> None:
    r = declos(tmp_path, *args)
    assert r.returncode == 1
    assert fragment in r.stderr
    assert "Traceback" not in r.stderr


def test_repository_trivial_network_files_evaluate() -> None:
    net = load_network(
        [str(REPO / "machines/trivial.yaml"), str(REPO / "machines/trivial-none.yaml")]
    )
    ev = NetworkEvaluation(net)
    t = target_of("webserver", ev.evaluation("webserver").value("deployment"))
    assert (t.target_env, t.host) == ("none", "127.0.0.1")
    assert ev.evaluation("webserver").value("services.httpd.enable") is True


def test_python_network_file_leaves_no_bytecode_beside_it(tmp_path: Path) -> None:
    """declos caches its own bytecode, never a user's: nothing is written beside their files
    (the same process may write __pycache__ elsewhere)."""
    net = write(
        tmp_path,
        "net.py",
        "config = {'web': {'networking.hostName': 'web-from-python'}}\n",
    )
    code = (
        "import sys; sys.dont_write_bytecode = False\n"
        "from declos.deploy.network import load_network\n"
        "from declos.deploy.evaluate import NetworkEvaluation\n"
        f"ev = NetworkEvaluation(load_network([{net!r}]))\n"
        "print(ev.evaluation('web').value('networking.hostName'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout == "web-from-python\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.py"]


def test_a_machine_is_named_after_its_network_key_unless_its_config_says_otherwise(
    tmp_path: Path,
) -> None:
    """NixOps: `networking.hostName = mkOverride 900 machineName`; mk_default loses to it."""
    net = tmp_path / "net.yaml"
    net.write_text(
        "webserver: {services.openssh.enable: true}\n"
        "db: {networking.hostName: database}\n"
        "cache: {networking.hostName: !default fallback}\n"
        "odd_name: {services.openssh.enable: true}\n"
    )
    ev = NetworkEvaluation(load_network([str(net)]))
    names = {m: ev.evaluation(m).value("networking.hostName") for m in ("webserver", "db", "cache")}
    assert names == {"webserver": "webserver", "db": "database", "cache": "cache"}
    assert ev.evaluation("odd_name").value("networking.hostName") == "declos"
