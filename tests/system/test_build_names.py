"""Names and values that would become lines of generated files are refused at build or
evaluation, with the option they came from (issue 8); hostile-but-valid ones are kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from declos.config import EvaluationError
from declos.system.build import SystemBuildError

NO_GRUB = {"boot.loader.grub.enable": False}
HTTPD = {"enable": True, "adminAddr": "admin@example.org"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"systemd.services.ok": {"script": "true", "serviceConfig": {"User\nX": "a"}}},
            "systemd.services.ok.serviceConfig: 'User\\nX' is not a unit file key "
            "(a letter, then letters, digits and '-')",
        ),
        (
            {"systemd.timers.t": {"timerConfig": {"On Calendar": "daily"}}},
            "systemd.timers.t.timerConfig: 'On Calendar' is not a unit file key",
        ),
        (
            {"networking.firewall.interfaces": {'eth0" accept; #': {"allowedTCPPorts": [22]}}},
            "networking.firewall.interfaces: 'eth0\" accept; #' is not a network interface name",
        ),
        (
            {"environment.etc": {"a\nb": {"text": "x"}}},
            "environment.etc.\"a\\nb\": target 'a\\nb' contains a control character",
        ),
        (
            {"users.users": {"a:b": {"isNormalUser": True}}},
            "users.users: 'a:b' is not an account name",
        ),
    ],
)
def test_names_refused_at_build(
    build: Callable[..., Any], config: dict[str, Any], message: str
) -> None:
    with pytest.raises(SystemBuildError) as info:
        build({**NO_GRUB, **config})
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value).split("\n(defined in")[0]


@pytest.mark.parametrize(
    ("config", "option"),
    [
        ({"systemd.services.ok": {"startAt": "daily\nOnBootSec=1"}}, "systemd.services.ok.startAt"),
        (
            {"systemd.services.ok": {"unitConfig": {"Description": "a\n[Service]"}}},
            "systemd.services.ok.unitConfig.Description",
        ),
        ({"boot.loader.grub.device": "/dev/vda\nrm -rf /"}, "boot.loader.grub.device"),
        (
            {"services.httpd": {**HTTPD, "adminAddr": "a@b\nLoadModule x"}},
            "services.httpd.adminAddr",
        ),
        ({"services.httpd": {**HTTPD, "logDir": "/var/log/x y"}}, "services.httpd.logDir"),
        ({"services.httpd": {**HTTPD, "documentRoot": '/srv/"x'}}, "services.httpd.documentRoot"),
        (
            {"networking.firewall.trustedInterfaces": ['lo" accept']},
            "networking.firewall.trustedInterfaces",
        ),
        ({"users.users.bob": {"isNormalUser": True, "uid": 2**32}}, "users.users.bob.uid"),
        (
            {"users.users.bob": {"isNormalUser": True, "home": "/home/../etc"}},
            "users.users.bob.home",
        ),
        ({"users.users.a": {"isNormalUser": True, "name": "b:c"}}, "users.users.a.name"),
        ({"users.groups.g": {"gid": 2**32 - 1}}, "users.groups.g.gid"),
    ],
)
def test_values_refused_at_evaluation(
    build: Callable[..., Any], config: dict[str, Any], option: str
) -> None:
    with pytest.raises(EvaluationError, match=f"A definition for option `{option}"):
        build({**NO_GRUB, **config})


def test_hostile_but_valid_values_build(build: Callable[..., Any], read: Any) -> None:
    result = build(
        {
            **NO_GRUB,
            "systemd.services.ok": {
                "script": "true",
                "environment": {"A": "x\nExecStartPre=/bin/false"},
                "unitConfig": {"Description": '50% $HOME `x` "q" ünï'},
            },
            "networking.firewall.interfaces": {"eth*": {"allowedTCPPorts": [8080]}},
            "users.users": {"my user": {"isNormalUser": True, "name": "me"}},
        }
    )
    unit = read(f"{result.path}/units/ok.service")
    assert 'Environment="A=x\\nExecStartPre=/bin/false"\n' in unit
    assert "\nExecStartPre" not in unit
    assert 'Description=50% $HOME `x` "q" ünï\n' in unit
