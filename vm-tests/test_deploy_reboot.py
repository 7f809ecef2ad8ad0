"""`declos deploy --boot --allow-reboot` needs a kernel: the new configuration becomes the
boot default, the machine reboots, declos waits for a new boot id and SSH, and checks that
the machine came up running the new closure (the boot-time activation chose it).

The guest boots its kernel directly (QEMU `-kernel`/`-append`, not GRUB), so kernel
parameters can never become live here; the reboot-needed decision itself is tested in
tests/deploy/test_reboot_reason.py and, without a reboot, in the container fleet.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from declos.testing import Machine
from declos.testing.plugin import run_declos

pytestmark = pytest.mark.vm

LOGICAL = """\
defaults:
  networking.hostName: guest
  services.openssh.enable: false
  networking.firewall.allowedTCPPorts: [22]
guest:
  environment.etc.declos-generation.text: "{label}\\n"
"""


def declos(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_declos(tmp, *args, env={"DECLOS_STATE": str(tmp / "state.db")}, timeout=900)


def test_boot_with_allow_reboot_comes_up_in_the_new_configuration(
    fresh_guest: Machine, tmp_path: Path
) -> None:
    guest = fresh_guest
    (tmp_path / "physical.yaml").write_text(
        "guest:\n"
        "  deployment.targetHost: 127.0.0.1\n"
        f"  deployment.targetPort: {guest.ssh_port}\n"
        f"  deployment.sshKeyFile: {guest.identity_file}\n"
    )
    logical = tmp_path / "logical.yaml"
    logical.write_text(LOGICAL.format(label="one"))
    r = declos(tmp_path, "create", "-d", "vm", "logical.yaml", "physical.yaml")
    assert r.returncode == 0, r.stderr
    store = ["--store-root", str(tmp_path / "store")]
    r = declos(tmp_path, "deploy", *store)
    assert r.returncode == 0, r.stdout + r.stderr
    assert guest.succeed("cat /etc/declos-generation") == "one\n"
    before = guest.boot_id()

    logical.write_text(LOGICAL.format(label="two"))
    r = declos(tmp_path, "deploy", "--boot", "--allow-reboot", *store)
    assert r.returncode == 0, r.stdout + r.stderr
    row = [line for line in r.stdout.splitlines() if line.startswith("guest ")][0]
    assert row.split()[1] == "deployed" and row.endswith("rebooted"), r.stdout
    assert "guest> back up (new boot id)" in r.stderr

    guest.host.close()
    guest.wait_for_ssh()
    assert guest.boot_id() != before
    assert guest.succeed("cat /etc/declos-generation") == "two\n"
    running = guest.succeed("readlink /run/declos/current-system")
    assert running == guest.succeed("readlink -f /declos/var/profiles/system")
    info = declos(tmp_path, "info", "-d", "vm", "--json")
    assert '"lastOutcome": "deployed"' in info.stdout
