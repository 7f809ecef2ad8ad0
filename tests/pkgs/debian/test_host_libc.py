"""Activation refuses a host whose libc6 is older than the one declos.lock was resolved
against (host-libc mode): a real system closure with a real Debian package (jq), built
by the system builder, activated with the real activator into a tree whose dpkg status
file says which libc6 it has."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from declos.activation.main import main
from declos.common.closure_schema import SchemaError, parse_system_json
from declos.pkgs.debian.lockfile import Lock
from declos.store import Store
from declos.system.build import build_system

MACHINE = (
    "def config(config, pkgs, lib, options):\n"
    "    return {'networking.hostName': 'libc', 'environment.systemPackages': [pkgs.%s]}\n"
)


def _tree(root: Path, libc6: str | None) -> None:
    etc = root / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\n")
    status = root / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    stanzas = ["Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b7\n"]
    if libc6 is not None:
        stanzas.append(
            f"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: {libc6}\n"
        )
    status.write_text("\n".join(stanzas))


def _files(root: Path) -> dict[str, bytes]:
    """Every file under root (except the activation lock, which holds the last pid)."""
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = Path(d, n)
            if n == "lock" and p.parent.name == "activation":
                continue
            out[str(p.relative_to(root))] = b"" if p.is_symlink() else p.read_bytes()
    return out


@pytest.fixture(scope="module")
def jq_system(
    tmp_path_factory: pytest.TempPathFactory, corpus_lock: Lock, deb_store: Store
) -> tuple[str, str]:
    d = tmp_path_factory.mktemp("libcsys")
    shutil.copy(corpus_lock.path, d / "declos.lock")
    (d / "machine.py").write_text(MACHINE % "jq")
    top = build_system([str(d / "machine.py")], store=deb_store).path
    return top, corpus_lock.libc_version


def test_system_json_records_the_locked_libc6(jq_system: tuple[str, str], deb_store: Store) -> None:
    top, libc = jq_system
    meta = json.loads(deb_store.real_path(f"{top}/system.json").read_text())
    assert meta["hostRequires"] == {"libc6": libc}
    assert libc.startswith("2.36-9+deb12u")


def test_activation_refuses_an_older_host_libc6_and_changes_nothing(
    jq_system: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top, libc = jq_system
    root = tmp_path / "root"
    _tree(root, "2.36-9+deb12u1")
    before = _files(root)
    rc = main(["--system", top, "--root", str(root), "switch"])
    err = capsys.readouterr().err
    assert rc == 1
    assert (
        f"error: the closure's Debian packages were resolved against libc6 {libc} "
        "(declos.lock base.libc6) but this host's libc6 is at 2.36-9+deb12u1 "
        f"({root}/var/lib/dpkg/status)"
    ) in err
    assert "apt-get install libc6" in err and "nothing was changed" in err
    assert _files(root) == before


def test_activation_refuses_a_host_without_libc6_or_dpkg_status(
    jq_system: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top, _ = jq_system
    root = tmp_path / "root"
    _tree(root, None)
    before = _files(root)
    assert main(["--system", top, "--root", str(root), "dry-activate"]) == 1
    assert "this host's libc6 is not installed" in capsys.readouterr().err
    (root / "var/lib/dpkg/status").unlink()
    assert main(["--system", top, "--root", str(root), "switch"]) == 1
    assert "its package versions cannot be read" in capsys.readouterr().err
    del before["var/lib/dpkg/status"]
    assert _files(root) == before


def test_activation_accepts_the_same_or_a_newer_libc6(
    jq_system: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top, libc = jq_system
    host = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "libc6"], capture_output=True, text=True
    ).stdout
    for i, version in enumerate([libc, libc + "+b1", "2.37-1"]):
        root = tmp_path / f"root{i}"
        _tree(root, version)
        assert main(["--system", top, "--root", str(root), "switch"]) == 0, capsys.readouterr().err
    assert host == libc  # the lock was resolved against this host's archive


def test_a_system_without_debian_packages_requires_nothing(
    tmp_path: Path, corpus_lock: Lock, deb_store: Store
) -> None:
    shutil.copy(corpus_lock.path, tmp_path / "declos.lock")
    (tmp_path / "machine.py").write_text(
        "def config(config, pkgs, lib, options):\n"
        "    return {'environment.systemPackages': [pkgs.write_text('x', 'y')]}\n"
    )
    top = build_system([str(tmp_path / "machine.py")], store=deb_store).path
    assert "hostRequires" not in json.loads(deb_store.real_path(f"{top}/system.json").read_text())


def test_hermetic_packages_require_nothing_of_the_host(
    tmp_path: Path, corpus_lock: Lock, deb_store: Store
) -> None:
    shutil.copy(corpus_lock.path, tmp_path / "declos.lock")
    (tmp_path / "machine.py").write_text(MACHINE % "jq.override(hermetic=True)")
    top = build_system([str(tmp_path / "machine.py")], store=deb_store).path
    assert "hostRequires" not in json.loads(deb_store.real_path(f"{top}/system.json").read_text())


def test_system_json_with_a_bad_host_requirement_is_refused() -> None:
    with pytest.raises(SchemaError, match=r"S: hostRequires.libc6: '2.36; rm' is not a Debian"):
        parse_system_json({"format": 1, "hostRequires": {"libc6": "2.36; rm"}}, "S")
    with pytest.raises(SchemaError, match="'LIBC' is not a Debian package name"):
        parse_system_json({"format": 1, "hostRequires": {"LIBC": "2"}}, "S")
