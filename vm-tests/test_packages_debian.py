"""Issue 12: real Debian packages from the store on a guest whose image has none of them.

`declos lock` resolves wget, git, gnupg, tmux, jq, curl and apache2 from the host's apt
sources; the closure is built here (unpacked .debs, ELF-fixed) and copied into the
shared system-test guest "sys". The guest never runs apt or dpkg: `dpkg -l` is the same
before and after, rolling back removes the programs from PATH, and switching forward
again copies nothing (the guest has no network; the paths are still in its store).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from system_support import CONFIGS, SystemLab

from declos.system import build_system

PACKAGES = ("wget", "git", "gnupg", "tmux", "jq", "curl", "apache2")
DECLOS = str(Path(sys.executable).with_name("declos"))

GPG_PARAMS = """%no-protection
Key-Type: eddsa
Key-Curve: ed25519
Name-Real: Declos Test
Name-Email: test@example.org
Expire-Date: 0
%commit
"""

HTTPD_CONF = """ServerRoot /tmp/httpd
Listen 127.0.0.1:8081
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
LoadModule dir_module {mods}/mod_dir.so
ServerName localhost
PidFile /tmp/httpd/httpd.pid
ErrorLog /tmp/httpd/error.log
DocumentRoot /tmp/httpd/www
<Directory /tmp/httpd/www>
  Require all granted
</Directory>
"""


def _config(tmp: Path) -> Path:
    # services.httpd without `package`: it defaults to pkgs.apache2 once the lock pins it
    # (port 8480: the lab's common.yaml runs a test server on 8080)
    (tmp / "debian-packages.py").write_text(
        "def config(config, pkgs, lib, options):\n"
        f"    return {{'environment.systemPackages': [{', '.join(f'pkgs.{p}' for p in PACKAGES)}],\n"
        "            'services.httpd': {'enable': True, 'adminAddr': 'a@example.org',\n"
        "                               'documentRoot': '/srv/www', 'listenPort': 8480}}\n"
    )
    top = tmp / "debian.yaml"
    top.write_text(f"imports:\n  - {CONFIGS / 'gen1.yaml'}\n  - debian-packages.py\n")
    return top


def test_debian_packages_from_the_store(lab: SystemLab, tmp_path: Path) -> None:
    m = lab.sys
    config = _config(tmp_path)
    lock = subprocess.run([DECLOS, "lock", "-c", str(config)], capture_output=True, text=True)
    assert lock.returncode == 0, lock.stderr
    assert "+ gnupg " in lock.stdout and "+ apache2 " in lock.stdout
    store = lab.store
    store_dir = store.store_dir
    try:
        top = build_system([str(config)], store=store).path
    finally:
        store.close()
    gen1 = lab.build("gen1")

    dpkg_before = m.succeed("dpkg -l | sha256sum")
    for program in ("wget", "git", "gpg", "tmux", "jq", "curl", "apache2"):
        assert m.execute(f"bash -lc 'command -v {program}'")[0] != 0, f"{program} on the image"
    assert m.execute("test -e /usr/sbin/apache2")[0] != 0
    m.succeed("mkdir -p /srv/www && echo 'the trivial page' > /srv/www/index.html")

    lab.push(gen1)
    assert lab.activate(gen1, "switch").status == 0
    lab.push(top)
    run = lab.activate(top, "switch")
    assert run.status == 0, run.output

    assert lab.login_shell("jq --version").strip() == "jq-1.6"
    assert lab.login_shell("wget --version | head -1").startswith("GNU Wget 1.21")
    lab.login_shell(
        "set -e; rm -rf /tmp/repo; mkdir /tmp/repo; cd /tmp/repo; git init -q; echo hi > f; "
        "git add f; git -c user.name=T -c user.email=t@example.org commit -q -m first"
    )
    assert lab.login_shell("cd /tmp/repo && git log --format=%s").strip() == "first"
    m.succeed(f"mkdir -p -m 700 /tmp/gpg && printf %s '{GPG_PARAMS}' > /tmp/gpg/params")
    lab.login_shell("GNUPGHOME=/tmp/gpg gpg --batch --gen-key /tmp/gpg/params")
    keys = lab.login_shell("GNUPGHOME=/tmp/gpg gpg --list-keys --with-colons")
    assert "Declos Test <test@example.org>" in keys
    lab.login_shell("TERM=xterm tmux new -d -s declos 'sleep 300'")
    assert lab.login_shell("tmux ls -F '#S'").strip() == "declos"

    mods = lab.login_shell("dirname $(readlink -f $(command -v apache2))").strip()
    mods = mods.rsplit("/usr/", 1)[0] + "/usr/lib/apache2/modules"
    m.succeed(
        "mkdir -p /tmp/httpd/www && echo 'served by store apache2' > /tmp/httpd/www/index.html"
    )
    m.succeed(f"cat > /tmp/httpd/httpd.conf <<'EOF'\n{HTTPD_CONF.format(mods=mods)}EOF")
    lab.login_shell("apache2 -f /tmp/httpd/httpd.conf -k start")
    page = lab.login_shell("curl -sS --retry 5 --retry-connrefused http://127.0.0.1:8081/")
    assert page == "served by store apache2\n"
    lab.login_shell("apache2 -f /tmp/httpd/httpd.conf -k stop")
    # services.httpd: the unit runs the store's apache2 with a config pointing into it
    exec_start = m.succeed("systemctl show -p ExecStart --value httpd")
    assert f"path={store_dir}/" in exec_start and "-apache2-2.4" in exec_start, exec_start
    assert m.succeed("systemctl is-active httpd").strip() == "active"
    page = lab.login_shell("curl -sS --retry 5 --retry-connrefused http://127.0.0.1:8480/")
    assert page == "the trivial page\n"
    m.succeed("tmux kill-server || true")

    assert m.succeed("dpkg -l | sha256sum") == dpkg_before

    run = lab.activate(gen1, "switch")
    assert run.status == 0, run.output
    assert m.execute("systemctl is-active httpd")[0] != 0
    for program in ("wget", "git", "gpg", "tmux", "jq", "curl", "apache2"):
        assert m.execute(f"bash -lc 'command -v {program}'")[0] != 0, f"{program} after rollback"

    stats = lab.push(top)
    assert stats.sent == [], "switching forward must not copy anything again"
    run = lab.activate(top, "switch")
    assert run.status == 0, run.output
    assert lab.login_shell("jq --version").strip() == "jq-1.6"
    assert m.succeed("dpkg -l | sha256sum") == dpkg_before
