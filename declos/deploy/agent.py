"""The deploy agent: runs ON THE TARGET (python3 standard library only), uploaded per deploy.

It gives activation deploy-rs' magic-rollback semantics with a process that survives the
SSH session that started it (a transient systemd unit via `systemd-run`, or a detached
session where systemd is not PID 1). Files in /run/declos/deploy/ID/ are the protocol:

  prev       the TOP the system profile pointed at before (absent: first deploy)
  prev-gen   that generation's link name (system-N-link)
  log        the activator's combined output
  activated  the activator's exit code, written when it finished
  canary     exists while the agent waits for the confirmation
  result     the outcome: confirmed | activated | rolled-back: REASON | failed: REASON
  reboot     why the running kernel does not match the new closure's boot settings
             (written before `activated`, only when a reboot is needed)

`reboot-needed --top TOP` prints that reason (nothing when no reboot is needed): the
kernel, initrd or kernel parameters of TOP differ from those of the generation the kernel
command line names (`declos.generation=N`), or, when the host was not booted from a declos
entry, a parameter of TOP is missing from /proc/cmdline or the kernel image the entry
boots (`/vmlinuz` by default) is another release than the running one. Containers never
need one.

`start` launches `work` detached and returns at once (with `--wait 1`: once `activated`
exists, printing what `wait` prints). `work` activates, then (magic
rollback) creates `canary` and waits `--timeout` seconds for it to be deleted; if it is
not, it rolls back by itself. The deployer deletes it with `confirm` over a NEW SSH
connection, which proves the host is still reachable after activation. `rollback` rolls
back on request (a failed health check). Rolling back runs the previous closure's own
activator (`PREV/activate rollback` for switch, `PREV/activate test` for test) and
deletes the failed generation, as deploy-rs does.
"""

import json
import os
import shutil
import subprocess
import sys
import time

BASE = "/run/declos/deploy"
# Why the running system still needs a reboot (one line; /run empties at boot, so the
# mark goes with the reboot). The deployer's probe reads it on every deploy.
REBOOT_MARK = "/run/declos/reboot-required"
PROFILE = "/declos/var/profiles/system"


def _dir(ident):
    if not ident or not all(c.isalnum() or c == "-" for c in ident):
        raise SystemExit("agent: bad id")
    return os.path.join(BASE, ident)


def _write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _opts(argv):
    opts = {}
    i = 0
    while i < len(argv):
        key = argv[i].lstrip("-")
        opts[key] = argv[i + 1] if i + 1 < len(argv) else ""
        i += 2
    return opts


def _pending(own):
    """Other deploys still waiting for their confirmation (their agent alive)."""
    out: list[str] = []
    try:
        names = os.listdir(BASE)
    except OSError:
        return out
    for name in names:
        pid = _read(os.path.join(BASE, name, "canary"))
        if name != own and pid and pid.isdigit() and os.path.exists(f"/proc/{pid}"):
            out.append(name)
    return out


def start(opts, argv):
    d = _dir(opts["id"])
    os.makedirs(d, mode=0o700, exist_ok=True)
    # An earlier deploy whose deployer died is still waiting for its confirmation and
    # will roll back: let it finish first, so it cannot roll back what we activate.
    deadline = time.monotonic() + 600
    while _pending(opts["id"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    profile = opts.get("profile", PROFILE)
    prev_link = None
    try:
        prev_link = os.readlink(profile)
    except OSError:
        pass
    if prev_link is not None:
        _write(os.path.join(d, "prev-gen"), prev_link)
        _write(os.path.join(d, "prev"), os.path.realpath(profile))
    cmd = [sys.executable, os.path.abspath(__file__), "work", *argv]
    if os.path.isdir("/run/systemd/system") and shutil.which("systemd-run"):
        unit = "declos-deploy-" + opts["id"]
        subprocess.run(
            ["systemd-run", "--quiet", "--collect", "--unit=" + unit, *cmd],
            check=True,
        )
    else:
        _detach(cmd, os.path.join(d, "agent.out"))
    _write(os.path.join(d, "started"), str(os.getpid()))
    if opts.get("wait") == "1":
        # Started and waited for in one command (one SSH round trip); `work` goes on
        # without us if this session dies.
        sys.stdout.flush()
        wait({"id": opts["id"], "for": "activated", "timeout": opts.get("wait-timeout", "600")})
        return
    print("started")


def _detach(cmd, out):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.execv(cmd[0], cmd)
        os._exit(0)
    os.wait()


def work(opts):
    d = _dir(opts["id"])
    top, action = opts["top"], opts["action"]
    timeout = float(opts.get("timeout", "30"))
    magic = opts.get("magic") == "1"
    with open(os.path.join(d, "log"), "wb") as log:
        rc = subprocess.run([top + "/activate", action], stdout=log, stderr=log).returncode
    reason = _reboot_reason_of(top, opts.get("profile", PROFILE)) if rc == 0 else None
    if reason:
        _write(os.path.join(d, "reboot"), reason)
    if rc == 0 and action == "switch":
        _mark_reboot(reason)
    _write(os.path.join(d, "activated"), str(rc))
    if rc != 0:
        reason = f"activation exited with {rc}"
        if magic:
            reason = _rollback(d, opts, reason)
        _write(os.path.join(d, "result"), "failed: " + reason)
        return
    if not magic:
        _write(os.path.join(d, "result"), "activated")
        return
    canary = os.path.join(d, "canary")
    _write(canary, str(os.getpid()))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(canary):
            _write(os.path.join(d, "result"), "confirmed")
            return
        time.sleep(0.05)
    os.unlink(canary)
    reason = f"no confirmation within {timeout:g} s"
    _write(os.path.join(d, "result"), "rolled-back: " + _rollback(d, opts, reason))


def _rollback(d, opts, reason):
    """Re-activate what ran before; returns the reason plus what was done."""
    prev = _read(os.path.join(d, "prev"))
    action = opts.get("action", "switch")
    if not prev:
        return reason + "; nothing to roll back to (first deployment)"
    profile = opts.get("profile", PROFILE)
    failed_gen = None
    try:
        failed_gen = os.readlink(profile)
    except OSError:
        pass
    with open(os.path.join(d, "rollback.log"), "wb") as log:
        if action == "switch" and failed_gen != _read(os.path.join(d, "prev-gen")):
            rc = subprocess.run([prev + "/activate", "rollback"], stdout=log, stderr=log).returncode
            n = _number(failed_gen)
            if rc == 0 and n is not None:
                subprocess.run(
                    [prev + "/activate", "generations", "--delete", str(n)],
                    stdout=log,
                    stderr=log,
                )
        else:
            rc = subprocess.run(
                [prev + "/activate", "test" if action == "test" else "switch"],
                stdout=log,
                stderr=log,
            ).returncode
    return f"{reason}; re-activated {prev} (exit {rc})"


def reboot_reason(new, booted, cmdline, running, image):
    """Why a reboot is needed for boot settings `new` (system.json's "boot"), or None.

    `booted`: the boot settings of the generation on the kernel command line (None when
    the host did not boot a declos entry); `cmdline`: /proc/cmdline; `running`: the
    running kernel release; `image`: the file name the entry's kernel image resolves to."""
    if new.get("isContainer"):
        return None
    params = list(new.get("kernelParams") or [])
    if booted is not None:
        changes = []
        for key in ("kernel", "initrd"):
            old, now = booted.get(key) or "default", new.get(key) or "default"
            if old != now:
                changes.append(f"{key} {old} -> {now}")
        before = list(booted.get("kernelParams") or [])
        diff = [f"+{p}" for p in params if p not in before]
        diff += [f"-{p}" for p in before if p not in params]
        if diff:
            changes.append("kernel parameters " + " ".join(diff))
        if changes:
            return "; ".join(changes)
    else:
        words = cmdline.split()
        missing = [p for p in params if p not in words]
        if missing:
            return "kernel parameters not active: " + " ".join(missing)
    if image and image.startswith("vmlinuz-") and image[len("vmlinuz-") :] != running:
        return f"kernel {image[len('vmlinuz-') :]} is installed, {running} is running"
    return None


def _boot_of(top):
    try:
        with open(os.path.join(top, "system.json")) as f:
            return json.load(f).get("boot") or {}
    except (OSError, ValueError):
        return None


def _reboot_reason_of(top, profile=PROFILE, cmdline_file="/proc/cmdline"):
    new = _boot_of(top)
    if new is None:
        return None
    try:
        with open(cmdline_file) as f:
            cmdline = f.read()
    except OSError:
        cmdline = ""
    booted = None
    for word in cmdline.split():
        if word.startswith("declos.generation=") and word.split("=", 1)[1].isdigit():
            link = f"{profile}-{word.split('=', 1)[1]}-link"
            if os.path.exists(link):
                booted = _boot_of(os.path.realpath(link))
    image = os.path.basename(os.path.realpath(new.get("kernel") or "/vmlinuz"))
    if not os.path.exists(new.get("kernel") or "/vmlinuz"):
        image = ""
    return reboot_reason(new, booted, cmdline, os.uname().release, image)


def _mark_reboot(reason):
    if reason:
        _write(REBOOT_MARK, reason)
        return
    try:
        os.unlink(REBOOT_MARK)
    except FileNotFoundError:
        pass


def reboot_needed(opts):
    reason = _reboot_reason_of(opts["top"], opts.get("profile", PROFILE))
    if reason:
        print(reason)
    return 0


def _number(link):
    if not link:
        return None
    parts = os.path.basename(link).split("-")
    return int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None


def wait(opts):
    """Block until FILE exists in the deploy dir (or timeout); print it and the log."""
    d = _dir(opts["id"])
    name = opts.get("for", "activated")
    if _read(os.path.join(d, "started")) is None:
        # Asked over a new connection after the first one died before `start` had
        # started `work`: nothing will ever be activated; say so instead of waiting.
        sys.stdout.write("DECLOS-NOT-STARTED\n")
        return 3
    deadline = time.monotonic() + float(opts.get("timeout", "600"))
    while time.monotonic() < deadline:
        value = _read(os.path.join(d, name))
        if value is not None:
            sys.stdout.write((_read(os.path.join(d, "log")) or "") + "\n")
            reboot = _read(os.path.join(d, "reboot"))
            if reboot:
                sys.stdout.write(f"DECLOS-REBOOT {reboot}\n")
            sys.stdout.write(f"DECLOS-{name.upper()} {value}\n")
            return 0
        time.sleep(0.05)
    sys.stdout.write(f"DECLOS-TIMEOUT {name}\n")
    return 3


def confirm(opts):
    d = _dir(opts["id"])
    try:
        os.unlink(os.path.join(d, "canary"))
    except FileNotFoundError:
        pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        result = _read(os.path.join(d, "result"))
        if result is not None:
            try:
                print("DECLOS-GENERATION " + os.readlink(opts.get("profile", PROFILE)))
            except OSError:
                pass
            print(result)
            return 0 if result == "confirmed" else 4
        time.sleep(0.05)
    print("pending")
    return 5


def rollback(opts):
    d = _dir(opts["id"])
    message = _rollback(d, opts, opts.get("reason", "requested"))
    _write(os.path.join(d, "result"), "rolled-back: " + message)
    print("rolled-back: " + message)
    return 0


def main(argv):
    if not argv:
        raise SystemExit("usage: agent start|work|wait|confirm|rollback|reboot-needed ...")
    cmd, rest = argv[0], argv[1:]
    opts = _opts(rest)
    if cmd == "start":
        start(opts, rest)
        return 0
    if cmd == "work":
        work(opts)
        return 0
    commands = {"wait": wait, "confirm": confirm, "rollback": rollback}
    commands["reboot-needed"] = reboot_needed
    return commands[cmd](opts)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
