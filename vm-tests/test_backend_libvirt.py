"""`targetEnv: libvirt` end to end (issue 11): deploy creates the VM, then its lifecycle.

`declos create -d trivial machines/trivial.yaml machines/trivial-libvirt.yaml` and
`declos deploy -d trivial` create a libvirt domain (qcow2 overlay on the harness's cached
image), boot it, reach SSH on a port forwarded to 127.0.0.1 with the host key recorded at
creation (no "first contact" learning), and deploy the web server, whose page answers
through a second forwarded port. Then: a no-op redeploy, `check`, `stop` (ACPI), `start`,
a domain deleted behind declos's back (`check` and `info` notice it), and `destroy
--confirm`, after which libvirt lists no domain of the deployment and the VM directory is
empty.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from declos.testing.plugin import run_declos
from declos.virt.libvirt_domain import open_connection

pytestmark = pytest.mark.vm

REPO = Path(__file__).resolve().parent.parent


def run(tmp: Path, *args: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    env = {"DECLOS_STATE": str(tmp / "state.db"), "DECLOS_VM_DIR": str(tmp / "vms")}
    return run_declos(tmp, *args, env=env, timeout=timeout)


def machine(tmp: Path) -> dict[str, object]:
    out = run(tmp, "export", "-d", "trivial", "--include-keys")
    assert out.returncode == 0, out.stderr
    (entry,) = json.loads(out.stdout)["deployments"].values()
    return dict(entry["machines"].get("webserver", {}), hostKeys=entry["hostKeys"])


def info(tmp: Path) -> dict[str, str]:
    out = run(tmp, "info", "-d", "trivial", "--json")
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    return dict(row)


def get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
        return str(response.read().decode())


def domains(prefix: str) -> list[str]:
    return sorted(
        d.name() for d in open_connection().listAllDomains() if d.name().startswith(prefix)
    )


def test_libvirt_machine_created_deployed_stopped_started_destroyed(tmp_path: Path) -> None:
    tmp = tmp_path
    (tmp / "machines").symlink_to(REPO / "machines")
    lock = run(tmp, "lock", "-c", "machines/webserver.yaml", "--lock", "declos.lock")
    assert lock.returncode == 0, lock.stderr
    r = run(
        tmp, "create", "-d", "trivial", "machines/trivial.yaml", "machines/trivial-libvirt.yaml"
    )
    assert r.returncode == 0, r.stderr
    uuid = r.stdout.strip().split()[-1]
    prefix = f"declos-{uuid[:8]}-"
    assert info(tmp)["status"] == "not created"

    store = ["--store-root", str(tmp / "store")]
    t0 = time.monotonic()
    r = run(tmp, "deploy", "-d", "trivial", *store)
    first = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[1].split()[:2] == ["webserver", "deployed"], r.stdout
    assert f"created domain {prefix}webserver" in r.stderr
    assert "host key ssh-ed25519 recorded before first contact" in r.stderr
    assert "first contact, learnt host key" not in r.stderr  # strict from the start
    m = machine(tmp)
    ssh_port = int(str(m["libvirt.sshPort"]))
    web_port = int(dict(m["libvirt.forwards"])["80"])  # type: ignore[arg-type]
    assert m["hostKeys"] == [
        {
            "host": "127.0.0.1",
            "port": ssh_port,
            "type": "ssh-ed25519",
            "key": m["hostKeys"][0]["key"],
        }  # type: ignore[index]
    ]
    assert domains(prefix) == [f"{prefix}webserver"]
    row = info(tmp)
    assert (row["status"], row["backend"], row["host"]) == (
        "running",
        "libvirt",
        f"127.0.0.1:{ssh_port}",
    )

    # The web server answers through the forwarded port, with a page sent over SSH.
    (tmp / "index.html").write_text("served by the libvirt machine\n")
    r = run(tmp, "scp", "-d", "trivial", "--to", "webserver", "index.html", "/srv/www/index.html")
    assert r.returncode == 0, r.stderr
    assert get(web_port) == "served by the libvirt machine\n"

    t0 = time.monotonic()
    r = run(tmp, "deploy", "-d", "trivial", *store)
    noop = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[1].split()[:2] == ["webserver", "unchanged"], r.stdout
    assert run(tmp, "check", "-d", "trivial").returncode == 0

    t0 = time.monotonic()
    r = run(tmp, "stop", "-d", "trivial")
    stop = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"webserver: shut down {prefix}webserver (ACPI) in "), r.stdout
    assert info(tmp)["status"] == "shut off"
    r = run(tmp, "check", "-d", "trivial")
    assert r.returncode == 3 and "its libvirt VM is shut off" in r.stdout, r.stdout + r.stderr

    t0 = time.monotonic()
    r = run(tmp, "start", "-d", "trivial")
    start = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"webserver: started {prefix}webserver; SSH answered after" in r.stdout
    assert info(tmp)["status"] == "running"
    deadline = time.monotonic() + 120
    while True:  # httpd may start a moment after sshd
        try:
            assert get(web_port) == "served by the libvirt machine\n"
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)

    # Deleted behind declos's back: check and info notice it.
    dom = open_connection().lookupByName(f"{prefix}webserver")
    dom.destroy()
    dom.undefine()
    assert info(tmp)["status"] == "missing"
    r = run(tmp, "check", "-d", "trivial")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "its libvirt VM is missing (deleted outside declos)" in r.stdout

    r = run(tmp, "destroy", "-d", "trivial")
    assert r.returncode == 1 and "run it again with --confirm" in r.stderr, r.stderr
    r = run(tmp, "destroy", "-d", "trivial", "--confirm")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"webserver: destroyed {prefix}webserver and removed ")
    assert domains(prefix) == []
    assert sorted(p.name for p in (tmp / "vms").iterdir()) == []
    assert machine(tmp) == {"hostKeys": []}
    print(
        f"\nFIGURES deploy-with-create {first:.1f} s, no-op redeploy {noop:.1f} s, "
        f"stop {stop:.1f} s, start-to-SSH {start:.1f} s"
    )
