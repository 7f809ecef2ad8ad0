"""`declos deploy` against ten real systemd hosts (nspawn containers with sshd).

Every test has its own state file; the containers persist across tests, so each test
deploys a configuration of its own (a marker in /etc) and asserts what changed."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from .conftest import NAMES, Deployer, results

pytestmark = pytest.mark.sshd

SERVICE = (
    "  systemd.services.hello:\n"
    "    wantedBy: [multi-user.target]\n"
    "    script: exec sleep infinity\n"
)


def marker_config(marker: str, names: list[str] = NAMES, extra: str = "") -> str:
    """Every machine gets /etc/declos-marker with `marker` and a running hello.service."""
    text = ""
    for n in names:
        text += f'{n}:\n  environment.etc.declos-marker.text: "{marker} {n}\\n"\n{SERVICE}{extra}'
    return text


def marker_on(d: Deployer, name: str) -> str:
    r = d.fleet[name].exec(["cat", "/etc/declos-marker"], check=False)
    return r.stdout


def generations(d: Deployer, name: str) -> list[str]:
    r = d.fleet[name].exec(["ls", "/declos/var/profiles"], check=False)
    return sorted(x for x in r.stdout.split() if x.endswith("-link"))


def create(d: Deployer, logical_text: str, names: list[str] = NAMES) -> None:
    r = d.run("create", "-d", "fleet", d.logical(logical_text, names), d.physical(names))
    assert r.returncode == 0, r.stderr


def test_first_deploy_and_noop_redeploy_of_ten_hosts(deployer: Deployer) -> None:
    marker = f"first-{time.time_ns()}"
    create(deployer, marker_config(marker))
    r = deployer.deploy()
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == dict.fromkeys(NAMES, "deployed")
    for n in NAMES:
        assert marker_on(deployer, n) == f"{marker} {n}\n"
        state = deployer.fleet[n].exec(["systemctl", "is-active", "hello.service"], check=False)
        assert state.stdout.strip() == "active"
    before = {n: generations(deployer, n) for n in NAMES}
    r = deployer.deploy()
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == dict.fromkeys(NAMES, "unchanged")
    assert r.stdout.count("(inputs unchanged since the last deploy: not evaluated)") == 10
    assert {n: generations(deployer, n) for n in NAMES} == before
    r = deployer.deploy("--no-eval-cache")
    assert results(r.stdout) == dict.fromkeys(NAMES, "unchanged")
    assert "not evaluated" not in r.stdout
    info = json.loads(deployer.run("info", "--json").stdout)
    assert {row["machine"]: (row["status"], row["lastOutcome"]) for row in info} == dict.fromkeys(
        NAMES, ("up", "unchanged")
    )


def test_noop_cache_sees_what_a_python_network_file_reads(deployer: Deployer) -> None:
    """The evaluation cache's inputs are the files the evaluation opened: a file read by a
    Python network file counts; an evaluation that starts a process is never cached."""
    names = ["c05"]
    side = deployer.workdir / "motd.txt"
    side.write_text("one\n")
    py = deployer.workdir / "extra.py"
    body = (
        "import pathlib\n"
        "text = pathlib.Path(__file__).with_name('motd.txt').read_text()\n"
        "config = {'c05': {'environment.etc.side.text': text}}\n"
    )
    py.write_text(body)
    logical = deployer.logical(marker_config(f"py-{time.time_ns()}", names), names)
    r = deployer.run("create", "-d", "fleet", logical, deployer.physical(names), str(py))
    assert r.returncode == 0, r.stderr
    r = deployer.deploy()
    assert results(r.stdout) == {"c05": "deployed"}, r.stderr
    r = deployer.deploy()
    assert results(r.stdout) == {"c05": "unchanged"} and "not evaluated" in r.stdout, r.stderr
    side.write_text("two\n")
    r = deployer.deploy()
    assert results(r.stdout) == {"c05": "deployed"}, r.stderr
    assert deployer.fleet["c05"].exec(["cat", "/etc/side"]).stdout == "two\n"
    py.write_text("import subprocess\nsubprocess.run(['true'], check=True)\n" + body)
    r = deployer.deploy()
    assert results(r.stdout) == {"c05": "unchanged"}, r.stderr
    r = deployer.deploy()
    assert results(r.stdout) == {"c05": "unchanged"}, r.stderr
    assert "not evaluated" not in r.stdout


def test_new_kernel_parameters_need_a_reboot_and_deploy_says_so(deployer: Deployer) -> None:
    """Without --allow-reboot a machine whose new kernel parameters are not live is
    `reboot-required` (exit 3), also on the next deploy, which has nothing to activate.
    Containers share this host's kernel, so the machine is declared no container here and
    the parameter can never become live (the reboot itself is a VM's test)."""
    names = ["c06"]
    extra = "  boot.isContainer: !force false\n  boot.kernelParams: [declos.test=1]\n"
    create(deployer, marker_config(f"reboot-{time.time_ns()}", names, extra), names)
    for _ in range(2):
        r = deployer.deploy()
        assert r.returncode == 3, r.stderr
        assert results(r.stdout) == {"c06": "reboot-required"}
        assert "(kernel parameters not active: declos.test=1); deploy with --allow-reboot" in (
            r.stdout
        )
    deployer.logical(marker_config(f"after-{time.time_ns()}", names), names)
    r = deployer.deploy()
    assert r.returncode == 0 and results(r.stdout) == {"c06": "deployed"}
    assert (
        deployer.fleet["c06"].exec(["ls", "/run/declos"]).stdout.split().count("reboot-required")
        == 0
    )


def test_on_selects_by_glob_and_tag(deployer: Deployer) -> None:
    names = NAMES[:4]
    marker = f"sel-{time.time_ns()}"
    create(deployer, marker_config(marker, names, "  deployment.tags: [group]\n"), names)
    r = deployer.deploy("--on", "c00,@nothing-else*")
    assert r.returncode == 1
    assert "error: --on: '@nothing-else*' matches no machine" in r.stderr
    r = deployer.deploy("--on", "c00,@group", "--exclude", "c03")
    assert r.returncode == 0, r.stderr
    assert results(r.stdout) == dict.fromkeys(["c00", "c01", "c02"], "deployed")
    assert marker_on(deployer, "c03") != f"{marker} c03\n"


def test_one_host_down_among_ten(deployer: Deployer) -> None:
    marker = f"down-{time.time_ns()}"
    create(deployer, marker_config(marker))
    down = deployer.fleet["c03"]
    down.exec(["systemctl", "stop", "ssh.service"])
    try:
        r = deployer.deploy()
    finally:
        down.exec(["systemctl", "start", "ssh.service"])
    assert r.returncode == 3
    got = results(r.stdout)
    assert got.pop("c03") == "failed"
    assert got == dict.fromkeys([n for n in NAMES if n != "c03"], "deployed")
    assert f"cannot connect to 127.0.0.1:{down.port}" in r.stdout
    assert "--- last lines of c03 (failed) ---" in r.stderr
    assert "9 of 10 machine(s) at their new configuration" in r.stderr


def test_failing_health_check_rolls_back(deployer: Deployer) -> None:
    names = ["c04"]
    create(deployer, marker_config(f"good-{time.time_ns()}", names), names)
    assert deployer.deploy().returncode == 0
    good = deployer.fleet["c04"].exec(["readlink", "/run/declos/current-system"]).stdout
    bad = marker_config(
        f"bad-{time.time_ns()}",
        names,
        "  deployment.healthChecks.cmd:\n"
        "    - {cmd: [test, -e, /nonexistent], retries: 1, period: 1, description: probe}\n",
    )
    deployer.logical(bad, names)
    r = deployer.deploy()
    assert r.returncode == 4
    assert results(r.stdout) == {"c04": "rolled-back"}
    assert "health check failed: probe: exit 1" in r.stdout
    assert deployer.fleet["c04"].exec(["readlink", "/run/declos/current-system"]).stdout == good


def test_keys_owner_mode_and_never_in_store_or_state(deployer: Deployer) -> None:
    secret = f"s3cret-{time.time_ns()}"
    names = ["c05"]
    extra = (
        "  deployment.keys.db-password:\n"
        f"    text: {secret}\n"
        "    user: daemon\n"
        "    group: daemon\n"
        "    permissions: '0640'\n"
    )
    create(deployer, marker_config(f"keys-{time.time_ns()}", names, extra), names)
    r = deployer.deploy()
    assert r.returncode == 0, r.stdout + r.stderr
    c = deployer.fleet["c05"]
    assert (
        c.exec(["stat", "-c", "%U:%G %a", "/run/keys/db-password"]).stdout == "daemon:daemon 640\n"
    )
    assert c.exec(["cat", "/run/keys/db-password"]).stdout == secret
    assert c.exec(["systemctl", "is-active", "db-password-key.service"]).stdout == "active\n"
    assert secret not in r.stdout + r.stderr
    grep = subprocess.run(["grep", "-rl", secret, str(deployer.store_root)], capture_output=True)
    assert grep.returncode == 1, grep.stdout
    grep = c.exec(["grep", "-rl", secret, "/declos/store"], check=False)
    assert grep.returncode == 1, grep.stdout
    for f in deployer.workdir.glob("state.db*"):
        assert secret.encode() not in f.read_bytes()
    c.exec(["rm", "/run/keys/db-password"])
    r = deployer.run("send-keys")
    assert r.returncode == 0, r.stderr
    assert c.exec(["cat", "/run/keys/db-password"]).stdout == secret


def test_changed_host_key_is_refused(deployer: Deployer) -> None:
    names = ["c06"]
    create(deployer, marker_config(f"hk-{time.time_ns()}", names), names)
    assert deployer.deploy().returncode == 0
    c = deployer.fleet["c06"]
    c.exec(["rm", "-f", "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_ed25519_key.pub"])
    c.exec(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "/etc/ssh/ssh_host_ed25519_key"])
    c.exec(["systemctl", "restart", "ssh.service"])
    deployer.logical(marker_config(f"hk2-{time.time_ns()}", names), names)
    r = deployer.deploy()
    assert r.returncode == 3
    assert results(r.stdout) == {"c06": "failed"}
    assert f"host key for 127.0.0.1:{c.port} does NOT match" in r.stdout
    assert "declos forget-host-key -d fleet c06" in r.stdout
    forgot = deployer.run("forget-host-key", "c06")
    assert forgot.returncode == 0 and "forgot 1 host key(s) of c06" in forgot.stdout
    assert deployer.deploy().returncode == 0


def test_two_concurrent_deploys_one_waits_for_the_lock(deployer: Deployer) -> None:
    names = ["c07"]
    create(deployer, marker_config(f"lock-{time.time_ns()}", names), names)
    first, second = deployer.popen(), deployer.popen()
    (_, err1), (_, err2) = first.communicate(120), second.communicate(120)
    codes = sorted([first.returncode, second.returncode])
    assert codes == [0, 1], (err1, err2)
    loser, winner = (second, first) if second.returncode == 1 else (first, second)
    err = err2 if loser is second else err1
    assert f"error: deployment 'fleet' is locked by pid {winner.pid} on " in err
    assert "wait for it to finish, or pass --lock-timeout SECONDS" in err
    queued = [deployer.popen("--lock-timeout", "120") for _ in range(2)]
    assert [p.wait(120) for p in queued] == [0, 0]


def kill_when(proc: subprocess.Popen[str], needle: str, timeout: float = 120) -> str:
    """Read proc's stderr until `needle` appears, then kill -9 it; returns what was read."""
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if needle in line:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return seen
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"never saw {needle!r}:\n{seen}")


def test_kill_9_during_copy_then_deploy_completes(deployer: Deployer) -> None:
    names = ["c08"]
    blob = deployer.workdir / "blob"
    blob.write_bytes(os.urandom(24 << 20))
    big = f"  environment.etc.big.source: {blob}\n"
    create(deployer, marker_config(f"k9c-{time.time_ns()}", names, big), names)
    kill_when(deployer.popen(), "c08> copying")
    db = sqlite3.connect(deployer.state)
    assert db.execute("select count(*) from locks").fetchone() == (1,)
    db.close()
    r = deployer.deploy()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning: taking over the stale lock of pid" in r.stderr
    assert results(r.stdout) == {"c08": "deployed"}
    assert deployer.fleet["c08"].exec(["stat", "-L", "-c", "%s", "/etc/big"]).stdout == (
        f"{24 << 20}\n"
    )


def test_kill_9_during_activation_then_deploy_completes(deployer: Deployer) -> None:
    names = ["c09"]
    extra = "  deployment.confirmTimeout: 4\n"
    create(deployer, marker_config(f"k9a-{time.time_ns()}", names, extra), names)
    assert deployer.deploy().returncode == 0
    before = deployer.fleet["c09"].exec(["readlink", "/run/declos/current-system"]).stdout
    marker = f"k9a2-{time.time_ns()}"
    deployer.logical(marker_config(marker, names, extra), names)
    kill_when(deployer.popen(), "c09> activating")
    time.sleep(6)  # the target waited 4 s for a confirmation, then rolled back by itself
    after = deployer.fleet["c09"].exec(["readlink", "/run/declos/current-system"]).stdout
    assert after == before
    r = deployer.deploy()
    assert r.returncode == 0, r.stdout + r.stderr
    assert results(r.stdout) == {"c09": "deployed"}
    assert marker_on(deployer, "c09") == f"{marker} c09\n"


def test_rollback_n_and_list_generations(deployer: Deployer) -> None:
    names = ["c01"]
    first = f"gen-a-{time.time_ns()}"
    create(deployer, marker_config(first, names), names)
    assert deployer.deploy().returncode == 0
    n_first = int(
        deployer.fleet["c01"].exec(["readlink", "/declos/var/profiles/system"]).stdout.split("-")[1]
    )
    deployer.logical(marker_config(f"gen-b-{time.time_ns()}", names), names)
    assert deployer.deploy().returncode == 0
    listed = deployer.run("list-generations")
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if line.startswith("c01>")]
    assert any(line.split()[1] == str(n_first) for line in lines)
    assert lines[-1].endswith("(current)")
    r = deployer.run("rollback", "-d", "fleet", str(n_first))
    assert r.returncode == 0, r.stdout + r.stderr
    assert marker_on(deployer, "c01") == f"{first} c01\n"
    r = deployer.run("rollback", "-d", "fleet", "999")
    assert r.returncode == 3
    assert "c01> error: generation 999 does not exist" in r.stdout


def test_enable_rollback_keeps_network_generations(deployer: Deployer) -> None:
    """`network.enableRollback`: every deploy that activated something is a network
    generation whose closures the local store keeps, so `rollback -d NAME N` works even
    after the machines deleted their own generation N."""
    names = ["c07", "c08"]
    first = f"net-a-{time.time_ns()}"
    rollback_on = "network: {enableRollback: true}\n"
    create(deployer, rollback_on + marker_config(first, names), names)
    assert deployer.deploy().returncode == 0
    tops_a = {
        n: deployer.fleet[n].exec(["readlink", "/run/declos/current-system"]).stdout for n in names
    }
    deployer.logical(rollback_on + marker_config(f"net-b-{time.time_ns()}", names), names)
    assert deployer.deploy().returncode == 0
    listed = deployer.run("list-generations")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert [r[0] for r in rows] == ["1", "2"]
    assert [w.split("=")[0] for w in rows[0][3:]] == names
    for n in names:  # the machines forget the first configuration
        gens = generations(deployer, n)
        first_gen = next(
            g
            for g in gens
            if deployer.fleet[n].exec(["readlink", f"/declos/var/profiles/{g}"]).stdout == tops_a[n]
        )
        number = first_gen.split("-")[1]
        r = deployer.run("delete-generation", "--include", n, "--", number)
        assert r.returncode == 0, r.stdout + r.stderr
    r = deployer.run("rollback", "-d", "fleet", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert results(r.stdout) == dict.fromkeys(names, "deployed")
    for n in names:
        assert marker_on(deployer, n) == f"{first} {n}\n"
    r = deployer.run("rollback", "-d", "fleet", "7")
    assert r.returncode == 1
    assert "error: deployment 'fleet' has no network generation 7 (generations: 1, 2)" in r.stderr


def test_activation_that_cuts_ssh_is_rolled_back_by_the_target(deployer: Deployer) -> None:
    """Magic rollback without a VM: the new generation stops sshd, so the confirmation
    over a new connection is impossible; the target rolls back by itself, deploy exits 4."""
    names = ["c02"]
    extra = "  deployment.confirmTimeout: 5\n"
    good = f"mr-good-{time.time_ns()}"
    create(deployer, marker_config(good, names, extra), names)
    assert deployer.deploy().returncode == 0
    c = deployer.fleet["c02"]
    before = c.exec(["readlink", "/run/declos/current-system"]).stdout
    cut = extra + (
        "  systemd.services.cut-ssh:\n"
        "    wantedBy: [multi-user.target]\n"
        "    serviceConfig: {Type: oneshot}\n"
        "    script: systemctl stop ssh.service\n"
    )
    deployer.logical(marker_config(f"mr-bad-{time.time_ns()}", names, cut), names)
    try:
        r = deployer.deploy()
    finally:
        c.exec(["systemctl", "start", "ssh.service"])
    assert r.returncode == 4, r.stdout + r.stderr
    assert results(r.stdout) == {"c02": "rolled-back"}
    assert "no confirmation possible within 5 s" in r.stdout
    outcome = ""
    deadline = time.monotonic() + 90  # the target's own rollback may still be running
    while "rolled-back" not in outcome and time.monotonic() < deadline:
        time.sleep(0.5)
        outcome = c.exec(["sh", "-c", "cat /run/declos/deploy/*/result"], check=False).stdout
    assert "rolled-back: no confirmation within 5 s; re-activated " in outcome
    assert c.exec(["readlink", "/run/declos/current-system"]).stdout == before
    assert marker_on(deployer, "c02") == f"{good} c02\n"


KILL_SSH_SESSIONS = """\
    script: |
      python3 - <<'EOF'
      import os, signal
      for p in os.listdir("/proc"):
          try:
              title = open(f"/proc/{p}/cmdline", "rb").read()
          except OSError:
              continue
          if p.isdigit() and title.startswith(b"sshd: root"):
              os.kill(int(p), signal.SIGKILL)
      EOF
"""


def test_connection_lost_during_activation_still_brings_its_output(deployer: Deployer) -> None:
    """The new generation kills every root SSH session (sshd itself keeps listening), so
    the deployer's connection dies while it waits for the activator; over a new one it
    fetches the activator's output and exit code, then confirms."""
    names = ["c03"]
    create(deployer, marker_config(f"lost-good-{time.time_ns()}", names), names)
    assert deployer.deploy().returncode == 0
    said = f"said-{time.time_ns()}"
    cut = (
        f"  system.activationScripts.say: echo {said}\n"
        "  systemd.services.cut-sessions:\n"
        "    wantedBy: [multi-user.target]\n"
        "    serviceConfig: {Type: oneshot}\n"
    ) + KILL_SSH_SESSIONS
    marker = f"lost-new-{time.time_ns()}"
    deployer.logical(marker_config(marker, names, cut), names)
    r = deployer.deploy()
    assert r.returncode == 0, r.stdout + r.stderr
    assert results(r.stdout) == {"c03": "deployed"}
    out = r.stdout + r.stderr
    assert "c03> lost the connection during activation (" in out
    assert f"c03> {said}" in out
    assert out.index("c03> lost the connection") < out.index(f"c03> {said}")
    assert marker_on(deployer, "c03") == f"{marker} c03\n"
