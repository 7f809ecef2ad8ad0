"""Issue 8: a configuration full of hostile-but-valid names switches cleanly on a real guest.

configs/hostile-names.yaml has a 63-character host name, 32-character user and group
names, dots/dashes/underscores in a system user, unicode, quotes, `%`, `$(...)` and
backquotes in descriptions and values, spaces and unicode in /etc entry names, and a
long unit name. After `switch` (the deploy code path: build, copy, activate), the guest
is checked with testinfra: `pwck -r` and `grpck -r` report nothing new, `systemd-analyze
verify` accepts the generated unit, the unit saw its environment value byte for byte,
the login shell has the variable exactly and nothing in a value was executed.
"""

from __future__ import annotations

from system_support import SystemLab

USER = "z" + "a" * 31
GROUP = "g" + "a" * 31
UNIT = "hostile-svc_" + "a" * 31 + "-long.name.service"
DESCRIPTION = "Zoë Ñandú — 日本語 (ops, room 4.2) \"quoted\" 'single' 100% $HOME"
HOSTILE = "a b 'c' \"d\" $(touch /tmp/pwned-var) `touch /tmp/pwned-tick` ; ünï 100% \\ end"
GREETING = "héllo wörld; $(touch /tmp/pwned-unit) \"q\" 'q' 100%"


def test_hostile_but_valid_names_switch_cleanly(lab: SystemLab) -> None:
    host = lab.sys.testinfra
    # Baselines: a stock Debian guest may already have pwck/grpck remarks of its own.
    pwck_before = host.run("pwck -r")
    grpck_before = host.run("grpck -r")

    lab.switch("hostile-names")

    pwck = host.run("pwck -r")
    grpck = host.run("grpck -r")
    assert pwck.rc == pwck_before.rc, pwck.stdout + pwck.stderr
    assert set((pwck.stdout + pwck.stderr).splitlines()) <= set(
        (pwck_before.stdout + pwck_before.stderr).splitlines()
    ), pwck.stdout + pwck.stderr
    assert grpck.rc == grpck_before.rc, grpck.stdout + grpck.stderr
    assert set((grpck.stdout + grpck.stderr).splitlines()) <= set(
        (grpck_before.stdout + grpck_before.stderr).splitlines()
    ), grpck.stdout + grpck.stderr

    user = host.user(USER)
    assert user.exists
    assert user.gecos == DESCRIPTION
    assert GROUP in user.groups
    assert host.user("svc.runner-01_x").exists
    assert host.group("svc.runner-01_x").exists
    assert host.run("hostname").stdout.strip() == "h" + "o" * 61 + "t"

    fragment = host.run(f"systemctl show -P FragmentPath {UNIT}").stdout.strip()
    assert fragment, f"{UNIT} is not loaded"
    verify = host.run(f"systemd-analyze verify {fragment}")
    assert verify.rc == 0, verify.stdout + verify.stderr
    assert UNIT not in verify.stdout + verify.stderr, verify.stdout + verify.stderr
    assert (
        host.service(UNIT).is_running
        or host.run(f"systemctl is-active {UNIT}").stdout.strip() == "active"
    )
    assert host.file("/run/hostile-greeting").content_string == GREETING + "\n"
    description = host.run(f"systemctl show -P Description {UNIT}").stdout.strip()
    assert description == "Ünïcödé service — spaces, 100% \"quoted\" $HOME 'single'"

    shell = host.run("bash -lc 'printf %s \"$DECLOS_HOSTILE\"'")
    assert shell.rc == 0, shell.stderr
    assert shell.stdout == HOSTILE
    assert host.run("bash -lc 'printf %s \"${DECLOS_EMPTY-unset}\"'").stdout == ""
    path = host.run("bash -lc 'printf %s \"$PATH\"'").stdout.split(":")
    assert "/usr/bin" in path and "/bin" in path, path
    assert host.run("bash -lc true").stderr == "", "the login shell printed errors"
    for pwned in ("/tmp/pwned-var", "/tmp/pwned-tick", "/tmp/pwned-unit"):
        assert not host.file(pwned).exists, f"{pwned}: a value was executed"

    assert (
        host.file("/etc/hostile dir/file with spaces.conf").content_string == "spaces in the path\n"
    )
    assert host.file("/etc/ünïcödé.conf").content_string == "ünïcödé — 日本語\n"
