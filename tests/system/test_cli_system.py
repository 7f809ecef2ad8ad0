"""`declos build|switch|dry-activate|rollback|generations` end to end under --root.

The config imports only the modules declaring the generic options it uses and is
evaluated with --bare, so these tests exercise the CLI, the builder and the closure's
own activator without the rest of the standard module library.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

MODULES = Path(__file__).resolve().parents[2] / "modules"
OPTIONS = "imports:\n" + "".join(
    f"  - {MODULES / m}\n"
    for m in (
        "networking/hostname.py",
        "system/systemd.py",
        "config/etc.py",
        "networking/firewall.py",
    )
)


def config(tmp_path: Path, name: str, host: str, body: str = "") -> str:
    (tmp_path / "options.yaml").write_text(OPTIONS)
    path = tmp_path / name
    path.write_text(
        "imports: [./options.yaml]\n"
        f"networking.hostName: {host}\n"
        "systemd.services.hello:\n"
        '  script: "echo {{ config.networking.hostName }}"\n'
        "  wantedBy: [multi-user.target]\n"
        "networking.firewall.allowedTCPPorts: [80]\n" + body
    )
    return str(path)


def declos(*args: str) -> subprocess.CompletedProcess[str]:
    """Runs in a scratch directory: `declos build` leaves a `result` link where it runs."""
    with tempfile.TemporaryDirectory(prefix="declos-cli-") as cwd:
        return subprocess.run(
            [sys.executable, "-m", "declos", *args], capture_output=True, text=True, cwd=cwd
        )


@pytest.fixture
def root(tmp_path: Path) -> str:
    """A tiny host tree: the activator needs root in the account databases."""
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (r / "etc/group").write_text("root:x:0:\n")
    (r / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    return str(r)


def test_build_prints_path_and_is_stable(tmp_path: Path, root: str) -> None:
    cfg = config(tmp_path, "web.yaml", "web")
    first = declos("build", "-c", cfg, "--root", root, "--bare")
    assert first.returncode == 0, first.stderr
    top = first.stdout.strip()
    assert top.startswith("/declos/store/") and top.endswith("-declos-system-web")
    assert "\n" not in top
    assert os.path.isfile(f"{root}{top}/system.json")
    before = sorted(os.listdir(f"{root}/declos/store"))
    again = declos("build", "-c", cfg, "--root", root, "--bare")
    assert again.returncode == 0 and again.stdout.strip() == top
    assert sorted(os.listdir(f"{root}/declos/store")) == before
    other = declos("build", "-c", config(tmp_path, "db.yaml", "db"), "--root", root, "--bare")
    assert other.returncode == 0 and other.stdout.strip().endswith("-declos-system-db")


def test_build_errors(tmp_path: Path, root: str) -> None:
    missing = declos("build", "-c", str(tmp_path / "nope.yaml"), "--root", root, "--bare")
    assert missing.returncode == 1
    assert f"configuration file {tmp_path / 'nope.yaml'} does not exist" in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("imports: [./options.yaml]\nnetworking.hostNme: web\n")
    (tmp_path / "options.yaml").write_text(OPTIONS)
    result = declos("build", "-c", str(bad), "--root", root, "--bare")
    assert result.returncode == 1 and result.stdout == ""
    assert (
        result.stderr.startswith("error: ")
        and "hostNme" in result.stderr
        and "bad.yaml" in result.stderr
    )
    firewall = config(
        tmp_path, "fw.yaml", "fw", 'networking.firewall.extraInputRules: "nonsense rule"\n'
    )
    result = declos("build", "-c", firewall, "--root", root, "--bare")
    assert result.returncode == 1 and "does not pass `nft --check`" in result.stderr
    assert not os.path.exists(f"{root}/declos/var/profiles/system")


def test_dry_activate_switch_generations_rollback(tmp_path: Path, root: str) -> None:
    web = config(tmp_path, "web.yaml", "web", 'environment.etc.motd.text: "hello\\n"\n')
    db = config(tmp_path, "db.yaml", "db")
    dry = declos("dry-activate", "-c", web, "--root", root, "--bare")
    assert dry.returncode == 0, dry.stderr
    assert "would create /etc/motd" in dry.stdout + dry.stderr
    assert not os.path.lexists(f"{root}/etc/motd")
    switch = declos("switch", "-c", web, "--root", root, "--bare")
    assert switch.returncode == 0, switch.stderr
    assert Path(root, "etc/hostname").read_text() == "web\n"
    assert os.path.islink(f"{root}/etc/motd")
    assert declos("switch", "-c", db, "--root", root, "--bare").returncode == 0
    assert Path(root, "etc/hostname").read_text() == "db\n" and not os.path.lexists(
        f"{root}/etc/motd"
    )
    gens = declos("generations", "--root", root)
    assert gens.returncode == 0
    lines = gens.stdout.splitlines()
    assert len(lines) == 2 and lines[1].split()[0] == "2" and lines[1].endswith("(current)")
    back = declos("rollback", "--root", root)
    assert back.returncode == 0, back.stderr
    assert Path(root, "etc/hostname").read_text() == "web\n" and os.path.islink(f"{root}/etc/motd")
    deleted = declos("generations", "--root", root, "--delete", "2")
    assert deleted.returncode == 0, deleted.stderr
    remaining = declos("generations", "--root", root).stdout.splitlines()
    assert [line.split()[0] for line in remaining] == ["1"] and remaining[0].endswith("(current)")


def test_rollback_without_generations_is_a_usage_error(root: str) -> None:
    result = declos("rollback", "--root", root)
    assert result.returncode == 1
    assert "no system generation yet" in result.stderr


REPO = Path(__file__).resolve().parents[2]


def test_build_trivial_machine_with_the_module_library(root: str) -> None:
    result = declos("build", "-c", str(REPO / "machines/webserver.yaml"), "--root", root)
    assert result.returncode == 0, result.stderr
    top = Path(root + result.stdout.strip())
    assert top.name.endswith("-declos-system-webserver")
    assert (top / "units/httpd.service").is_file()
    assert os.readlink(top / "units/multi-user.target.wants/httpd.service") == "../httpd.service"
    assert (top / "units/ssh.service.d/declos.conf").is_file()
    assert "tcp dport { 22, 80 } accept" in (top / "firewall.nft").read_text()
    assert (top / "etc/declos-trivial.txt").is_symlink()
    assert '"hostName": "webserver"' in (top / "config.json").read_text()


def test_unset_required_option_of_a_disabled_service_is_not_forced(
    tmp_path: Path, root: str
) -> None:
    cfg = tmp_path / "plain.yaml"
    cfg.write_text("networking.hostName: plain\n")
    result = declos("build", "-c", str(cfg), "--root", root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("-declos-system-plain")


def test_render_errors_name_the_definition_site(tmp_path: Path, root: str) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text('networking.hostName: bad\nenvironment.etc.motd:\n  mode: "0644"\n')
    result = declos("build", "-c", str(cfg), "--root", root)
    assert result.returncode == 1
    assert result.stderr == (
        f'error: environment.etc."motd": set either `text` or `source`\n(defined in {cfg}:3)\n'
    )
