"""The container fleet the deploy tests share: ten systemd-nspawn hosts with sshd on
127.0.0.1 ports, booted once per session (declos.testing.nspawn), and a helper that runs
`declos` against a private state file and a private store root."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from declos.config import evaluate
from declos.testing import nspawn
from declos.testing.plugin import run_declos

NAMES = [f"c{i:02d}" for i in range(10)]


def container_support() -> dict[str, object]:
    """What the fleet's machines need so activation works in a container: `boot.isContainer`
    (activation's option). Until that option exists the fleet is started with
    nspawn's `no_container_option` preparation instead (see declos.testing.nspawn)."""
    declared = "isContainer" in (evaluate([]).to_json().get("boot") or {})
    return {"boot.isContainer": True} if declared else {}


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[nspawn.Fleet]:
    why = nspawn.available()
    if why:
        pytest.skip(f"container fleet unavailable: {why}")
    work = tmp_path_factory.mktemp("fleet")
    f = nspawn.Fleet(work, NAMES, no_container_option=not container_support())
    try:
        f.start()
        yield f
    finally:
        f.stop()


@dataclass
class Deployer:
    """`declos` with this test's state file and the session's store root."""

    workdir: Path
    store_root: Path
    fleet: nspawn.Fleet

    @property
    def state(self) -> Path:
        return self.workdir / "state.db"

    def physical(self, names: list[str] = NAMES) -> str:
        """A physical network file: each machine's container address and the client key."""
        data = {
            n: {
                "deployment": {
                    "targetHost": "127.0.0.1",
                    "targetPort": self.fleet[n].port,
                    "sshKeyFile": str(self.fleet.client_key_file),
                }
            }
            for n in names
        }
        path = self.workdir / "physical.yaml"
        path.write_text(yaml.safe_dump(data))
        return str(path)

    def logical(self, text: str, names: list[str] = NAMES) -> str:
        defaults = {
            "networking.hostName": "",
            "networking.firewall.enable": False,
            "services.openssh.enable": False,
            **container_support(),
        }
        body = yaml.safe_dump({"defaults": defaults}) + text
        body += "".join(f"{n}: {{}}\n" for n in names if f"\n{n}:" not in "\n" + text)
        path = self.workdir / "logical.yaml"
        path.write_text(body)
        return str(path)

    def env(self) -> dict[str, str]:
        return dict(os.environ, DECLOS_STATE=str(self.state))

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return run_declos(self.workdir, *args, env=self.env(), timeout=timeout)

    def deploy(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return self.run("deploy", "--store-root", str(self.store_root), *args, timeout=timeout)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "declos", "deploy", "--store-root", str(self.store_root), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
            cwd=self.workdir,
        )


@pytest.fixture(scope="session")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deploy-store")


@pytest.fixture
def deployer(tmp_path: Path, store_root: Path, fleet: nspawn.Fleet) -> Deployer:
    return Deployer(tmp_path, store_root, fleet)


def results(stdout: str) -> dict[str, str]:
    """MACHINE -> RESULT from deploy's summary table."""
    out = {}
    for line in stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            out[parts[0]] = parts[1]
    return out
