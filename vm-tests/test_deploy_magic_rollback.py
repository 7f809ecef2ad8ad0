"""Magic rollback needs a kernel: a configuration whose firewall cuts SSH (issue 10).

`declos deploy` to the shared guest: first a configuration with SSH open, then one whose
nftables ruleset drops new SSH connections. The activation itself succeeds (the
deployer's established connection survives), but the confirmation needs a NEW
connection, which the firewall refuses; the guest rolls itself back after
`confirmTimeout`, and the deployer reports "rolled-back" and exits 4 (deploy-rs#214
exits 0 there). Afterwards SSH works again and the first generation is current.
"""

from __future__ import annotations

import re
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
  networking.firewall.enable: true
  deployment.confirmTimeout: 12
guest:
  networking.firewall.allowedTCPPorts: {ports}
  environment.etc.declos-generation.text: "{label}\\n"
"""


def deploy(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_declos(tmp, *args, env={"DECLOS_STATE": str(tmp / "state.db")}, timeout=600)


def test_firewall_that_cuts_ssh_is_rolled_back(fresh_guest: Machine, tmp_path: Path) -> None:
    guest = fresh_guest
    (tmp_path / "physical.yaml").write_text(
        "guest:\n"
        "  deployment.targetHost: 127.0.0.1\n"
        f"  deployment.targetPort: {guest.ssh_port}\n"
        f"  deployment.sshKeyFile: {guest.identity_file}\n"
    )
    logical = tmp_path / "logical.yaml"
    logical.write_text(LOGICAL.format(ports="[22]", label="open"))
    r = deploy(tmp_path, "create", "-d", "vm", "logical.yaml", "physical.yaml")
    assert r.returncode == 0, r.stderr
    store = ["--store-root", str(tmp_path / "store")]
    r = deploy(tmp_path, "deploy", *store)
    assert r.returncode == 0, r.stdout + r.stderr
    assert guest.succeed("cat /etc/declos-generation") == "open\n"
    good = guest.succeed("readlink /run/declos/current-system")

    logical.write_text(LOGICAL.format(ports="[]", label="closed"))
    r = deploy(tmp_path, "deploy", *store)
    assert r.returncode == 4, r.stdout + r.stderr
    summary = [line for line in r.stdout.splitlines() if line.startswith("guest ")]
    assert summary[0].split()[1] == "rolled-back", r.stdout
    # Either the deployer's new connection never got through before the deadline, or it
    # got through once the target had rolled back and read the target's own verdict.
    assert re.search(r"no confirmation (possible )?within 12 s", r.stdout), r.stdout

    # The guest rolled back by itself: SSH is reachable again, generation "open" is current.
    # The deployer may give up (exit 4) before the target has finished re-activating the
    # previous closure; the target writes its result only after that.
    guest.wait_until_succeeds("grep -q '^rolled-back' /run/declos/deploy/*/result", timeout=120)
    guest.wait_until_succeeds("test -e /run/declos/current-system", timeout=60)
    assert guest.succeed("readlink /run/declos/current-system") == good
    assert guest.succeed("cat /etc/declos-generation") == "open\n"
    results = guest.succeed("cat /run/declos/deploy/*/result")
    assert "rolled-back: no confirmation within 12 s" in results
