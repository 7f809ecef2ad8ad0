"""The standard module library (modules/) and the example machines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from declos.config import evaluate, stdlib_entry
from declos.config.docs import option_records

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trivial() -> Any:
    return evaluate([ROOT / "machines" / "webserver.yaml"])


def test_stdlib_entry_is_the_checkout_modules_dir() -> None:
    assert stdlib_entry() == ROOT / "modules" / "module-list.yaml"


def test_trivial_machine(trivial: Any) -> None:
    assert trivial.value("networking.hostName") == "webserver"
    assert trivial.value("services.httpd") == {
        "enable": True,
        "package": None,
        "adminAddr": "alice@example.org",
        "documentRoot": "/srv/www",
        "listenPort": 80,
        "user": "www-data",
        "group": "www-data",
        "logDir": "/var/log/httpd",
        "virtualHosts": {},
        "extraConfig": "",
    }
    # services.openssh (enabled in webserver.yaml) opens its port in its module, as in NixOS.
    assert trivial.value("networking.firewall.allowedTCPPorts") == [80, 22]
    assert trivial.value("networking.firewall.enable") is True
    assert trivial.value("deployment.targetEnv") == "libvirt"
    assert trivial.value("systemd.tmpfiles.rules") == ["d /srv/www 0755 root root -"]
    assert (
        trivial.value('environment.etc."declos-trivial.txt".text')
        == "webserver serves /srv/www\non port 80.\n"
    )
    assert trivial.warnings == []


ISSUE2_OPTIONS = [
    "networking.hostName",
    "networking.firewall.enable",
    "networking.firewall.allowedTCPPorts",
    "networking.firewall.allowedUDPPorts",
    "environment.systemPackages",
    "environment.etc",
    "users.users",
    "users.groups",
    "systemd.services",
    "fileSystems",
    "boot.loader.grub.enable",
    "boot.loader.grub.device",
    "services.openssh.enable",
    "services.httpd.enable",
    "services.httpd.adminAddr",
    "services.httpd.documentRoot",
    "deployment.targetEnv",
    "deployment.targetHost",
    "deployment.libvirt.memorySize",
    "deployment.virtualbox.memorySize",
]
ISSUE5_OPTIONS = [
    "time.timeZone",
    *(
        f"environment.etc.<name>.{o}"
        for o in ("enable", "text", "source", "target", "mode", "user", "group", "replaceExisting")
    ),
    "environment.variables",
    *(
        f"users.users.<name>.{o}"
        for o in (
            "isSystemUser",
            "isNormalUser",
            "uid",
            "group",
            "extraGroups",
            "description",
            "home",
            "createHome",
            "shell",
            "hashedPassword",
            "openssh.authorizedKeys.keys",
        )
    ),
    "users.groups.<name>.gid",
    "users.groups.<name>.members",
    *(
        f"systemd.services.<name>.{o}"
        for o in (
            "enable",
            "description",
            "wantedBy",
            "requiredBy",
            "after",
            "before",
            "wants",
            "requires",
            "environment",
            "path",
            "script",
            "preStart",
            "postStart",
            "serviceConfig",
            "unitConfig",
            "restartTriggers",
            "reloadTriggers",
            "restartIfChanged",
            "reloadIfChanged",
            "stopIfChanged",
            "startAt",
        )
    ),
    "systemd.timers",
    "systemd.sockets",
    "systemd.tmpfiles.rules",
    *(
        f"networking.firewall.{o}"
        for o in (
            "allowedTCPPortRanges",
            "allowedUDPPortRanges",
            "interfaces.<name>.allowedTCPPorts",
            "trustedInterfaces",
            "allowPing",
            "rejectPackets",
            "logRefusedConnections",
            "extraInputRules",
        )
    ),
    *(f"fileSystems.<name>.{o}" for o in ("device", "fsType", "options", "autoFormat", "label")),
    "swapDevices",
    "boot.loader.grub.configurationLimit",
    "boot.loader.grub.extraEntries",
    "boot.kernelParams",
    "services.openssh.ports",
    "services.openssh.settings",
    "services.openssh.authorizedKeysFiles",
    "system.activationScripts",
]


def test_declares_every_option_issues_2_and_5_name(trivial: Any) -> None:
    records = {r["name"]: r for r in option_records(trivial)}
    missing = [name for name in ISSUE2_OPTIONS + ISSUE5_OPTIONS if name not in records]
    assert missing == []
    undocumented = [name for name, r in records.items() if not r["description"]]
    assert undocumented == []
    for record in records.values():
        assert record["declarations"][0].startswith("modules/"), record


def test_normal_user_defaults_and_names(tmp_path: Path) -> None:
    machine = tmp_path / "m.yaml"
    machine.write_text(
        "users.users.alice: {isNormalUser: true, extraGroups: [wheel]}\n"
        # (a system user needs a group: NixOS's assertion, checked by the users module)
        "users.users.svc: {isSystemUser: true, group: svc, home: /var/lib/svc}\n"
        "environment.etc.motd.text: hello\n"
        "system.activationScripts.data: mkdir -p /data\n"
    )
    ev = evaluate([machine])
    alice = ev.value("users.users.alice")
    assert (alice["name"], alice["home"], alice["createHome"], alice["group"]) == (
        "alice",
        "/home/alice",
        True,
        "users",
    )
    assert ev.value("users.users.svc.home") == "/var/lib/svc"
    assert ev.value("users.users.svc.createHome") is False
    assert ev.value("environment.etc.motd.target") == "motd"
    assert ev.value("system.activationScripts.data") == {
        "text": "mkdir -p /data",
        "deps": [],
        "supportsDryActivation": False,
    }


def test_stdlib_type_errors_point_at_the_user_file(tmp_path: Path) -> None:
    from declos.config import EvaluationError

    machine = tmp_path / "m.yaml"
    machine.write_text("networking.firewall.allowedTCPPorts: [80, 70000]\n")
    with pytest.raises(EvaluationError) as info:
        evaluate([machine]).value()
    assert "is not of type `16 bit unsigned integer; between 0 and 65535 (both inclusive)'" in str(
        info.value
    )
    assert "m.yaml:1': 70000" in str(info.value)


# Network files (top-level keys are machine names) are evaluated in tests/deploy.
NETWORK_FILES = {
    "trivial.yaml",
    "trivial-none.yaml",
    "trivial-libvirt.yaml",
    "trivial-virtualbox.yaml",
}


@pytest.mark.parametrize(
    "machine",
    sorted(p for p in (ROOT / "machines").glob("*.[yp][ay]*") if p.name not in NETWORK_FILES),
    ids=lambda p: p.name,
)
def test_example_machines_evaluate(machine: Path) -> None:
    assert evaluate([machine]).to_json()["networking"]["hostName"]


def test_empty_machine_has_a_value_for_every_option() -> None:
    config = evaluate([]).to_json()
    assert config["services"]["httpd"]["adminAddr"] is None
    assert config["networking"]["hostName"] == "declos"
    assert config["users"] == {"users": {}, "groups": {}}


HTTPD_ADMIN_MESSAGE = (
    "Failed assertions:\n- services.httpd.adminAddr must be set when services.httpd.enable is true "
    "(the server administrator's e-mail address, Apache's ServerAdmin), "
    "e.g. services.httpd.adminAddr: admin@example.org"
)


def test_enabled_httpd_requires_admin_addr(tmp_path: Path) -> None:
    from declos.config import EvaluationError

    machine = tmp_path / "m.yaml"
    machine.write_text("services.httpd.enable: true\n")
    with pytest.raises(EvaluationError) as info:
        evaluate([machine])
    assert str(info.value) == HTTPD_ADMIN_MESSAGE
    machine.write_text("services.httpd: {enable: true, adminAddr: a@b}\n")
    assert evaluate([machine]).value("services.httpd.adminAddr") == "a@b"
