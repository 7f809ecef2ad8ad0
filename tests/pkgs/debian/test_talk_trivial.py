"""The talk's trivial.nix in declos: httpd serving `{{ pkgs.valgrind }}/share/doc/valgrind/html`.

The configuration is the talk's, in YAML; it is evaluated and built into a system closure
with the directory's corpus lock (apache2 and valgrind, already in its store), and the
unit's own ExecStart (the store's apache2 with the closure's httpd.conf) serves
valgrind's manual on 127.0.0.1. It runs on the host, not deployed to a machine (the
deploy and VM tests cover `declos deploy`); the log directory and the port are the only
settings added, so nothing is written outside the test's directory (and the file's
ServerRoot/PidFile, which name /etc/httpd and /run/httpd of a deployed machine).
(Build engineer's file in the packages engineer's directory: it reuses this
directory's store so valgrind and apache2 are not built twice.)
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from declos.pkgs.debian.lockfile import Lock
from declos.store import Store
from declos.system.build import build_system

TRIVIAL = """\
services.httpd.enable: true
services.httpd.adminAddr: alice@example.org
services.httpd.documentRoot: "{{{{ pkgs.valgrind }}}}/share/doc/valgrind/html"
services.httpd.listenPort: {port}
services.httpd.logDir: {logs}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str) -> str:
    for _ in range(100):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return str(r.read().decode())
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def test_httpd_serves_valgrinds_manual_from_the_store(
    corpus_lock: Lock, deb_store: Store, tmp_path: Path
) -> None:
    shutil.copy(corpus_lock.path, tmp_path / "declos.lock")
    port, logs = free_port(), tmp_path / "logs"
    (tmp_path / "webserver.yaml").write_text(TRIVIAL.format(port=port, logs=logs))
    top = Path(build_system([str(tmp_path / "webserver.yaml")], store=deb_store).path)
    unit = (top / "units/httpd.service").read_text()
    [exec_start] = [ln for ln in unit.splitlines() if ln.startswith("ExecStart=@")]
    apache2 = exec_start.removeprefix("ExecStart=@").split()[0]
    assert apache2.startswith(f"{deb_store.store_dir}/") and "-apache2-2.4" in apache2
    conf = top / "etc/httpd/httpd.conf"
    [root] = [ln for ln in conf.read_text().splitlines() if ln.startswith("DocumentRoot ")]
    docs = root.removeprefix("DocumentRoot ").strip('"')
    assert docs.startswith(f"{deb_store.store_dir}/") and "-valgrind-1_3.19" in docs
    assert docs.endswith("/share/doc/valgrind/html")
    logs.mkdir()
    # The host has no /etc/httpd (the closure's etc is linked there only on a deployed
    # machine): the same file with ServerRoot and PidFile in the test's directory.
    text = conf.read_text()
    assert 'ServerRoot "/etc/httpd"\n' in text and "PidFile /run/httpd/httpd.pid\n" in text
    assert "\nUser www-data\nGroup www-data\n" in text
    local = tmp_path / "httpd.conf"
    local.write_text(
        text.replace('ServerRoot "/etc/httpd"', f'ServerRoot "{tmp_path}"').replace(
            "PidFile /run/httpd/httpd.pid", f"PidFile {tmp_path}/httpd.pid"
        )
    )
    # Started as www-data (the unit's User) rather than as root, with CAP_DAC_OVERRIDE:
    # pytest's temporary tree (the store's parent) is mode 0700, closed to www-data.
    setpriv = ["setpriv", "--reuid=www-data", "--regid=www-data", "--clear-groups"]
    setpriv += ["--inh-caps=+dac_override", "--ambient-caps=+dac_override"]
    proc = subprocess.Popen(
        [*setpriv, apache2, "-X", "-f", str(local)],
        env={},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        page = fetch(f"http://127.0.0.1:{port}/")
        manual = fetch(f"http://127.0.0.1:{port}/manual-core.html")
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert "<title>Valgrind Documentation</title>" in page, out.decode(errors="replace")
    assert "Using and understanding the Valgrind core" in manual
    assert (Path(docs) / "index.html").read_text() == page
