"""Hostile-but-valid values through every generator, and the generated files run by the
tools that read them (issue 8, "Generated shell, unit and account files are quoted"):
`bash -n` on every generated script and sourcing profile.d, `systemd-analyze verify` on
every unit, `pwck -r`/`grpck -r` on the account databases after `switch --root`.

The values hold every character that means something to one of those readers (`$()`,
backquotes, `;`, quotes, backslash, `%`, newline in a value, spaces, unicode); none of
them may run, break a file or change what the reader sees. A real switch on a booted
guest is vm-tests/test_hostile_names.py; this is the fast, build-host half.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

DECLOS = str(Path(sys.executable).with_name("declos"))
STORE = "/declos/store"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("systemd-analyze") is None,
    reason="pwck -R needs root (chroot); systemd-analyze is systemd's",
)


def _tree(root: Path) -> Path:
    """A minimal OS tree with the shells its accounts name (pwck checks they exist)."""
    for d in ("etc", "root", "home", "tmp", "var", "run", "bin", "usr/bin"):
        (root / d).mkdir(parents=True, exist_ok=True)
    files = {
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
        "etc/group": "root:x:0:\nusers:x:100:\n",
        "etc/shadow": "root:*:19000:0:99999:7:::\n",
        "etc/gshadow": "root:*::\nusers:*::\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    for shell in ("bin/sh", "bin/bash"):
        (root / shell).touch(mode=0o755)
    return root


def _config(payload: str) -> dict[str, object]:
    return {
        "networking.hostName": "hostile",
        "boot.loader.grub.enable": False,
        "environment.variables": {"HOSTILE": payload, "EMPTY": ""},
        "systemd.services.hostile": {
            "description": '50% "q" $HOME `x` ünï \\ ;',
            "environment": {"V": payload},
            "script": 'printf "%s" "$V" > /run/hostile-out',
            "serviceConfig": {"Type": "oneshot"},
            "wantedBy": ["multi-user.target"],
            "startAt": "Mon *-*-* 00:00:00",
        },
        "fileSystems": {
            "/srv/my data": {
                "device": "/dev/disk/by-label/my\\x20data",
                "fsType": "ext4",
                "label": "x'; touch pwned; $(id) `id` \"",
                "autoFormat": True,
            }
        },
        "users.users.hostile": {
            "isNormalUser": True,
            "description": 'Ünï "Q" $(x) % ; `y` \\',
            "extraGroups": ["hostile-group"],
        },
        "users.groups.hostile-group": {},
    }


def _in_tree(path: Path, store: Path) -> Path:
    """A closure's link to a logical store path, followed inside the tree."""
    while path.is_symlink():
        path = store / os.readlink(path).removeprefix(STORE + "/")
    return path


def _mkfs_gets_exact_words(units: Path, store: Path, tmp_path: Path) -> None:
    """Run the generated mkfs script with stand-ins for blkid (finds no signature) and
    mkfs.ext4 (records its arguments): the label and device arrive as single words."""
    (unit,) = units.glob("mkfs-*.service")
    line = next(x for x in unit.read_text().splitlines() if x.startswith("ExecStart="))
    script = Path(line.removeprefix("ExecStart="))
    assert script.is_relative_to(store), script
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "blkid").write_text("#!/bin/sh\nexit 2\n")
    (stubs / "mkfs.ext4").write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > {tmp_path}/mkfs-args\n")
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    ran = _run(["bash", str(script)], env={"PATH": f"{stubs}:/usr/bin:/bin"}, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    args = (tmp_path / "mkfs-args").read_text().split("\0")[:-1]
    assert args == ["-L", "x'; touch pwned; $(id) `id` \"", "-q", "/dev/disk/by-label/my\\x20data"]
    assert not (tmp_path / "pwned").exists()


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, **kw)  # type: ignore[call-overload,no-any-return]


def test_hostile_values_pass_every_reader(tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    payload = f"$(touch {pwned}) `touch {pwned}` ; ' \" \\ %h ünï\nline2"
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(_config(payload), allow_unicode=True))
    tree = _tree(tmp_path / "tree")
    env = {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "DECLOS_STORE_DIR": STORE,
        "DECLOS_STATE_DIR": str(tmp_path / "state"),
    }
    r = _run([DECLOS, "switch", "-c", "p.yaml", "--root", str(tree)], cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    store = tree / STORE.lstrip("/")
    (top,) = store.glob("*-declos-system-hostile")

    scripts = [
        f
        for f in store.rglob("*")
        if f.is_file()
        and not f.is_symlink()
        and f.read_bytes()[:2] == b"#!"
        and b"sh" in f.read_bytes().split(b"\n", 1)[0]
    ]
    profile = _in_tree(top / "etc/profile.d/declos.sh", store)
    assert len(scripts) >= 3  # the unit's start script, the mkfs script, activate
    for script in [*scripts, profile]:
        check = _run(["bash", "-n", str(script)])
        assert check.returncode == 0 and check.stderr == "", (script, check.stderr)

    sourced = _run(["bash", "-c", f'. "{profile}"; printf "%s|%s" "$HOSTILE" "$EMPTY"'], env={})
    assert sourced.returncode == 0 and sourced.stderr == "", sourced.stderr
    assert sourced.stdout == payload + "|"

    units = tmp_path / "units"
    units.mkdir()
    for unit in (top / "units").iterdir():
        if unit.is_file():
            # the closure names logical store paths; verify reads them from the tree
            text = unit.read_text().replace(STORE + "/", f"{store}/")
            (units / unit.name).write_text(text)
    names = sorted(p.name for p in units.iterdir())
    assert len(names) == 4, names  # service, timer, mount, mkfs service
    for name in names:
        verify = _run(["systemd-analyze", "verify", f"./{name}"], cwd=units)
        assert verify.returncode == 0 and verify.stderr == "", (name, verify.stderr)
    assert 'Description=50% "q" $HOME `x` ünï \\ ;\n' in (units / "hostile.service").read_text()

    _mkfs_gets_exact_words(units, store, tmp_path)

    for tool in ("pwck", "grpck"):
        result = _run([tool, "-r", "-R", str(tree)])
        assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), tool
    passwd = (tree / "etc/passwd").read_text().splitlines()
    assert 'hostile:x:1000:100:Ünï "Q" $(x) % ; `y` \\:/home/hostile:/bin/bash' in passwd
    assert (tree / "etc/group").read_text().splitlines()[-1] == "hostile-group:x:999:hostile"
    assert not pwned.exists(), "a payload ran"
