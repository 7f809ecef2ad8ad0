"""Building TOP from an evaluated config: the layout of the contract, caching, references
and closure (the services in it are modules; the builder renders what they define)."""

from __future__ import annotations

import json
import os

import pytest

from declos.pkgs import Pkgs
from declos.system.build import SystemBuildError, build_from_values


def values(pkgs: Pkgs) -> dict:
    """A config (a dict module) touching every part of TOP."""
    return {
        "networking.hostName": "web",
        "time.timeZone": "Europe/Paris",
        "environment.systemPackages": [pkgs.write_shell_script_bin("hello", "echo hello\n")],
        "environment.variables": {"EDITOR": "vi"},
        "environment.etc": {"motd": {"text": "hi\n"}},
        "systemd.services": {
            "web": {
                "script": "exec sleep 1000\n",
                "wantedBy": ["multi-user.target"],
                "restartTriggers": ["a"],
            }
        },
        "systemd.tmpfiles.rules": ["d /var/lib/web 0755 root root -"],
        "networking.firewall": {"enable": True, "allowedTCPPorts": [80]},
        "services.openssh": {"enable": True},
        "users.users": {
            "alice": {
                "isNormalUser": True,
                "openssh": {"authorizedKeys": {"keys": ["ssh-ed25519 K a"]}},
            }
        },
        "fileSystems": {"/data": {"device": "/dev/vdb", "fsType": "ext4", "autoFormat": True}},
        "boot.kernelParams": ["console=ttyS0"],
        "system.activationScripts": {"hello": "echo hello"},
    }


def tree(root: str) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            entry = os.path.normpath(os.path.join(rel, name))
            if os.path.islink(path):
                entry += (
                    " -> " + os.readlink(path).split("-", 1)[-1]
                    if os.readlink(path).startswith("/")
                    else " -> " + os.readlink(path)
                )
            out.append(entry)
    return sorted(out)


def test_layout_follows_the_contract(store, build) -> None:
    result = build(values(Pkgs(store)))
    top = result.path
    assert top.startswith(store.store_dir + "/") and top.endswith("-declos-system-web")
    phys = str(store.real_path(top))
    assert tree(phys) == [
        "activate",
        "activator -> declos-activator",
        "config.json",
        "etc",
        "etc/motd -> etc-motd",
        "etc/profile.d",
        "etc/profile.d/declos.sh -> etc-profile.d-declos.sh",
        "etc/ssh",
        "etc/ssh/authorized_keys.d",
        "etc/ssh/authorized_keys.d/alice -> etc-ssh-authorized_keys.d-alice",
        "etc/ssh/sshd_config.d",
        "etc/ssh/sshd_config.d/10-declos.conf -> etc-ssh-sshd_config.d-10-declos.conf",
        "etc/tmpfiles.d",
        "etc/tmpfiles.d/00-declos.conf -> tmpfiles.conf",
        "firewall.nft",
        "sw -> system-path",
        "system.json",
        "units",
        "units/data.mount",
        "units/data.mount.wants",
        "units/data.mount.wants/mkfs-dev-vdb.service -> ../mkfs-dev-vdb.service",
        "units/local-fs.target.wants",
        "units/local-fs.target.wants/data.mount -> ../data.mount",
        "units/mkfs-dev-vdb.service",
        "units/multi-user.target.wants",
        "units/multi-user.target.wants/web.service -> ../web.service",
        "units/ssh.service.d",
        "units/ssh.service.d/declos.conf",
        "units/web.service",
    ]
    meta = json.loads(store.real_path(top + "/system.json").read_text())
    assert meta["format"] == 1 and meta["hostname"] == "web" and meta["timeZone"] == "Europe/Paris"
    assert meta["units"]["names"] == ["data.mount", "mkfs-dev-vdb.service", "web.service"]
    assert meta["boot"]["kernelParams"] == ["console=ttyS0"]
    assert meta["firewall"] == {"table": "inet declos-fw", "file": "firewall.nft"}
    assert [a["name"] for a in meta["activationScripts"]] == ["hello"]
    config = json.loads(store.real_path(top + "/config.json").read_text())
    assert config["networking"]["hostName"] == "web"
    assert "tcp dport { 22, 80 } accept" in store.real_path(top + "/firewall.nft").read_text()
    sw = store.real_path(meta["sw"] + "/bin/hello")
    assert (
        os.path.islink(sw)
        and store.real_path(os.readlink(sw)).read_text() == "#!/bin/bash\necho hello\n"
    )
    assert os.stat(phys + "/activate").st_mode & 0o777 == 0o555
    assert 'declos.activation --system "$top"' in open(phys + "/activate").read()
    lib = store.real_path(meta["activator"] + "/lib")
    assert (lib / "declos/__init__.py").is_file() and (
        lib / "declos/activation/__main__.py"
    ).is_file()
    assert (lib / "jeepney/__init__.py").is_file() and not list(lib.rglob("__pycache__"))
    refs = set(store.references(top))
    assert {meta["activator"], meta["sw"], meta["tmpfiles"]} <= refs
    assert all(e["source"] in refs for e in meta["etc"])
    closure = set(store.closure([top]))
    script = open(phys + "/units/web.service").read().split("ExecStart=")[1].split("/bin/")[0]
    assert script in closure


def test_same_config_same_path_and_nothing_added(store, build) -> None:
    first = build(values(Pkgs(store))).path
    before = set(store.all_paths())
    second = build(values(Pkgs(store))).path
    assert second == first
    assert set(store.all_paths()) == before


def test_changed_option_changes_top(store, build) -> None:
    base = values(Pkgs(store))
    first = build(base).path
    changed = dict(base, **{"systemd.services": {"web": {"script": "exec sleep 2000\n"}}})
    assert build(changed).path != first


def test_failed_assertions_stop_before_building(store) -> None:
    bad = {
        "assertions": [
            {"assertion": False, "message": "need a disk"},
            {"assertion": True, "message": "ok"},
        ],
        "warnings": ["old option"],
    }
    before = set(store.all_paths())
    with pytest.raises(SystemBuildError, match=r"^Failed assertions:\n- need a disk$"):
        build_from_values(store, bad)
    assert set(store.all_paths()) == before
    assert build_from_values(store, {"warnings": ["old option"]}).warnings == ["old option"]


def test_bad_firewall_rule_is_a_build_error(build) -> None:
    with pytest.raises(SystemBuildError, match=r"does not pass `nft --check`"):
        build({"networking.firewall": {"extraInputRules": "nonsense here"}})


def test_activator_is_self_contained_and_cached(store) -> None:
    import subprocess

    from declos.system.activator import build_activator

    path = build_activator(store)
    cache = store.real_path(store.state_dir + "/cache/activator.json")
    assert json.loads(cache.read_text())["path"] == path
    cache.write_text("not json")
    assert build_activator(store) == path
    lib = str(store.real_path(path + "/lib"))
    proc = subprocess.run(
        [
            "/usr/bin/python3",
            "-P",
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {lib!r}); import declos.activation.main, jeepney; "
            "print(declos.activation.main.__file__)",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == lib + "/declos/activation/main.py"


def test_paths_mentioned_in_strings_are_built_and_referenced(store, build) -> None:
    pkgs = Pkgs(store)
    tool = pkgs.write_shell_script_bin("tool", "echo tool\n")
    conf = pkgs.write_text("app.conf", "x=1\n")
    assert not store.is_valid(tool.out_path) and not store.is_valid(conf.out_path)
    top = build(
        {
            "systemd.services": {
                "app": {"serviceConfig": {"ExecStart": f"{tool}/bin/tool --fast"}}
            },
            "environment.etc": {"app.conf": {"source": conf}},
        },
        special_args={"pkgs": pkgs},  # the strings above come from this package set
    ).path
    assert store.is_valid(tool.out_path) and store.is_valid(conf.out_path)
    closure = set(store.closure([top]))
    assert {tool.out_path, conf.out_path} <= closure
    unit = store.real_path(top + "/units/app.service").read_text()
    assert f"ExecStart={tool.out_path}/bin/tool --fast\n" in unit


def test_memo_gives_the_same_paths_and_survives_gc(store, build) -> None:
    first = build(values(Pkgs(store)))
    memo = store.real_path(store.state_dir + "/cache/system-trees.json")
    assert first.path in json.loads(memo.read_text())["trees"].values()
    memo.unlink()
    again = build(values(Pkgs(store)))
    assert (again.path, again.added) == (first.path, first.added)
    script = next(p for p in first.added if p.endswith("-unit-script-web-start"))
    store.delete([first.path])
    store.delete([script])
    assert not store.is_valid(first.path) and not store.is_valid(script)
    rebuilt = build(values(Pkgs(store)))
    assert rebuilt.path == first.path and store.is_valid(first.path) and store.is_valid(script)
    assert (
        store.real_path(script + "/bin/web-start").read_text()
        == "#!/bin/bash\nset -e\nexec sleep 1000\n"
    )


def test_etc_target_inside_another_target_is_an_error(build) -> None:
    with pytest.raises(SystemBuildError, match=r"/etc/a/b is inside another entry's target /etc/a"):
        build({"environment.etc": {"a": {"text": "x"}, "a/b": {"text": "y"}}})
