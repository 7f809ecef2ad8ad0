"""Activation on a target with magic rollback, driven from the deployer.

The target side is declos/deploy/agent.py (stdlib only), uploaded next to the deploy's
files in /run/declos/deploy/. Sequence (docs/deploy.md, "confirmation protocol"):

1. `agent start` records the previous generation and starts `agent work` detached
   (a transient systemd unit), so it outlives this SSH session;
2. `agent wait --for activated` over the current connection returns the activator's
   output and exit code (if that connection dies, e.g. sshd restarted, go on to 3);
3. over a NEW SSH connection, `agent confirm` deletes the canary; the agent answers
   `confirmed`, or `rolled-back: …` when it rolled back by itself (activation failed, or
   the confirmation came too late). No new connection within `confirmTimeout` means the
   target rolls back without us; we report "rolled back" either way, never success.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from declos.hosts.errors import CommandFailed, HostError, HostKeyMismatch

AGENT_SOURCE = Path(__file__).with_name("agent.py").read_bytes()
AGENT_PATH = f"/run/declos/deploy/agent-{hashlib.sha256(AGENT_SOURCE).hexdigest()[:16]}.py"


@dataclass(frozen=True)
class ActivationResult:
    """`outcome` is confirmed | activated | rolled-back | failed; `message` says why."""

    outcome: str
    message: str
    exit_code: int | None
    ident: str
    reboot: str | None = None  # why a reboot is needed for the new closure to take effect
    generation: str | None = None  # the profile's link after the activation (system-N-link)

    @property
    def ok(self) -> bool:
        return self.outcome in ("confirmed", "activated")


def agent_argv(python: str, *args: str) -> list[str]:
    return [python, AGENT_PATH, *args]


def activate(
    host: Any,
    top: str,
    action: str,
    *,
    magic: bool,
    confirm_timeout: float,
    activation_timeout: float,
    log: Callable[[str], None],
) -> ActivationResult:
    """Activate TOP with `action` (switch or test) and confirm it (see the module doc)."""
    ident = time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(4)
    py = host.python
    args = ["--id", ident, "--top", top, "--action", action]
    args += ["--timeout", f"{confirm_timeout:g}", "--magic", "1" if magic else "0"]
    args += ["--wait", "1", "--wait-timeout", f"{activation_timeout:g}"]
    lost, exit_code, reboot = _start_and_wait(host, args, activation_timeout, log)
    deadline = time.monotonic() + confirm_timeout
    last_error = ""
    while True:
        try:
            host.reconnect()
            if lost:  # the activator's output, exit code and reboot reason, late
                waited = host.run(
                    agent_argv(py, "wait", "--id", ident, "--timeout", f"{activation_timeout:g}"),
                    timeout=activation_timeout + 60,
                    check=False,
                )
                lost, exit_code, reboot = False, *_read_wait(waited.stdout, activation_timeout, log)
            result = host.run(agent_argv(py, "confirm", "--id", ident), timeout=30, check=False)
            answer = result.stdout.decode(errors="replace").strip().splitlines()
            status = answer[-1] if answer else ""
            gen = [x.split(" ", 1)[1] for x in answer if x.startswith("DECLOS-GENERATION ")]
            if status != "pending":
                done = _outcome(status, exit_code, ident, magic)
                return replace(done, reboot=reboot, generation=gen[0] if gen else None)
        except HostKeyMismatch:
            raise
        except HostError as exc:
            last_error = str(exc)
        if time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    return ActivationResult(
        "rolled-back",
        f"no confirmation possible within {confirm_timeout:g} s ({last_error or 'no answer'}); "
        "the target rolls itself back",
        exit_code,
        ident,
    )


def upload_agent(host: Any) -> None:
    host.run(["install", "-d", "-m", "0700", "/run/declos/deploy"])
    host.put(AGENT_SOURCE, AGENT_PATH, mode=0o600)


def reboot_needed(host: Any, top: str) -> str | None:
    """Why TOP needs a reboot to take effect on `host` (the agent's `reboot-needed`)."""
    upload_agent(host)
    out = host.run(agent_argv(host.python, "reboot-needed", "--top", top), timeout=60)
    return out.stdout.decode(errors="replace").strip() or None


# Install the agent (stdin) and run it, in one command: `agent start --wait 1`.
_INSTALL_AND_RUN = (
    'set -e; install -d -m 0700 /run/declos/deploy; tmp="$1.$$"; cat > "$tmp"; '
    'chmod 600 "$tmp"; mv -f "$tmp" "$1"; py="$2"; shift 2; exec "$py" "$@"'
)


def _start_and_wait(
    host: Any, args: list[str], timeout: float, log: Callable[[str], None]
) -> tuple[bool, int | None, str | None]:
    """Upload the agent, start the activation and wait for the activator, in one round
    trip: whether the connection died while it ran (then `activate` asks again over a new
    one), the activator's exit code (None: not known) and why a reboot is needed (None:
    it is not)."""
    argv = ["sh", "-c", _INSTALL_AND_RUN, "declos-agent", AGENT_PATH, host.python]
    try:
        result = host.run(
            [*argv, AGENT_PATH, "start", *args],
            input=AGENT_SOURCE,
            timeout=timeout + 90,
            check=True,
        )
    except HostKeyMismatch:
        raise
    except CommandFailed as exc:
        if exc.result.returncode != -1:
            raise
        # No exit status: the SSH session was killed under the command (the new
        # configuration ended it); the detached activation goes on without it.
        log(
            "lost the connection during activation (the SSH session ended without an exit "
            "status); confirming over a new one"
        )
        return True, None, None
    except HostError as exc:
        log(f"lost the connection during activation ({exc}); confirming over a new one")
        return True, None, None
    return False, *_read_wait(result.stdout, timeout, log)


def _read_wait(
    stdout: bytes, timeout: float, log: Callable[[str], None]
) -> tuple[int | None, str | None]:
    """`agent wait`'s answer: the activator's lines (logged), its exit code, and why a
    reboot is needed."""
    code: int | None = None
    reboot: str | None = None
    for line in stdout.decode(errors="replace").splitlines():
        if line.startswith("DECLOS-ACTIVATED "):
            code = int(line.split()[1])
        elif line.startswith("DECLOS-REBOOT "):
            reboot = line[len("DECLOS-REBOOT ") :]
        elif line.startswith("DECLOS-TIMEOUT"):
            log(f"activation did not finish within {timeout:g} s")
        elif line.startswith("DECLOS-NOT-STARTED"):
            log("the activation was never started on the target")
        elif line:
            log(line)
    return code, reboot


def _outcome(status: str, exit_code: int | None, ident: str, magic: bool) -> ActivationResult:
    if status == "confirmed":
        return ActivationResult("confirmed", "activated and confirmed", exit_code, ident)
    if status == "activated":
        return ActivationResult("activated", "activated (magic rollback off)", exit_code, ident)
    if status.startswith("rolled-back: "):
        return ActivationResult("rolled-back", status[len("rolled-back: ") :], exit_code, ident)
    if status.startswith("failed: "):
        return ActivationResult("failed", status[len("failed: ") :], exit_code, ident)
    return ActivationResult(
        "failed", f"unexpected answer from the agent: {status!r}", exit_code, ident
    )


def rollback(host: Any, ident: str, action: str, reason: str) -> str:
    """Roll back the deploy `ident` on request (a failed health check); the agent's report."""
    result = host.run(
        agent_argv(host.python, "rollback", "--id", ident, "--action", action, "--reason", reason),
        timeout=600,
        check=False,
    )
    return result.stdout.decode(errors="replace").strip()
