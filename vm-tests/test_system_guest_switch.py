"""Issue 5: `declos switch` run by a user INSIDE the guest, declos installed there from
the project's own wheel with pip and no network (its dependencies are wheels pip
downloaded on the test machine). The configuration is the default
/etc/declos/configuration.yaml, so the commands are exactly what a user types.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from system_support import (
    CONFIGS,
    STATE,
    SystemLab,
    dependency_wheels,
    project_wheel,
    wheel_cache,
)

# The wheel carries the module library (declos/_modules); nothing else is copied in.
DECLOS = "declos"


def _use(lab: SystemLab, name: str) -> None:
    """Point the guest's default configuration at configs/NAME."""
    text = f"imports:\n  - configs/{name}.yaml\n"
    lab.sys.succeed(f"printf %s {shlex.quote(text)} > /etc/declos/configuration.yaml")


def _declos(lab: SystemLab, args: str) -> tuple[int, str]:
    return lab.sys.execute(f"{DECLOS} {args} 2>&1", timeout=600)


def test_declos_switch_inside_the_guest(lab: SystemLab, tmp_path: Path) -> None:
    m = lab.sys
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for wheel in dependency_wheels(wheel_cache()).glob("*.whl"):
        shutil.copy2(wheel, wheels)
    shutil.copy2(project_wheel(tmp_path / "build"), wheels)
    m.copy_from_host(wheels, "/root/wheels")
    m.succeed("mkdir -p /etc/declos")
    m.copy_from_host(CONFIGS, "/etc/declos/configs")

    m.succeed("python3 -m venv --without-pip /opt/declos")
    m.succeed(
        '/opt/declos/bin/python3 "$(ls /root/wheels/pip-*.whl)/pip" install -q --no-index '
        "--no-compile --find-links /root/wheels declos",
        timeout=900,
    )
    m.succeed("ln -s /opt/declos/bin/declos /usr/local/bin/declos")
    assert m.succeed("command -v declos").strip() == "/usr/local/bin/declos"

    _use(lab, "gen1")
    status, out = _declos(lab, "build")
    assert status == 0, out
    top1 = out.strip().splitlines()[-1]
    assert top1 == lab.build("gen1"), "the guest and the test machine built different closures"

    status, out = _declos(lab, "switch")
    assert status == 0, out
    assert (
        "the following new units were started: changer.service, data.mount, "
        "steady.service, web.service"
    ) in out.splitlines(), out
    assert m.succeed("systemctl is-active changer steady web").split() == ["active"] * 3
    assert lab.login_shell("declos-hello") == "hello from declos-hello\n"
    assert m.succeed("findmnt -rn -o TARGET,FSTYPE /data").split() == ["/data", "ext4"]
    status, out = _declos(lab, "switch")
    assert (status, out.strip()) == (0, f"no changes: {top1} is already active")

    steady = lab.active_since("steady")
    changer = lab.active_since("changer")
    _use(lab, "gen2")
    status, out = _declos(lab, "switch")
    assert status == 0, out
    assert "stopping the following units: changer.service" in out.splitlines(), out
    assert lab.active_since("steady") == steady
    assert lab.active_since("changer") != changer
    assert m.succeed("id -u carol").strip() == "1001"
    assert lab.peer_reaches(8080)

    status, out = _declos(lab, "generations")
    assert status == 0, out
    rows = [line.split() for line in out.splitlines()]
    assert [(r[0], r[3]) for r in rows] == [("1", top1), ("2", lab.build("gen2"))], out
    assert rows[1][-1] == "(current)"

    status, out = _declos(lab, "rollback")
    assert status == 0, out
    assert out.splitlines()[0] == f"rolling back to generation 1 ({top1})"
    assert m.execute("id carol")[0] == 1
    assert m.succeed("cat /etc/declos-test/version").strip() == "1"
    assert not lab.peer_reaches(8080)
    assert m.succeed(f"readlink {STATE}/profiles/system").strip() == "system-1-link"
