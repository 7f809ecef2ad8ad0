"""Unit rendering: exact NixOS-shaped text for services, timers, sockets; systemd escaping."""

from __future__ import annotations

import subprocess

import pytest

from declos.store.paths import make_text_path
from declos.system.services import DEBIAN_PATH, render_service, render_systemd
from declos.system.units import UnitError, attrs_to_section, escape_path


def test_attrs_to_section_sorts_keys_and_repeats_lists() -> None:
    text = attrs_to_section(
        {
            "Wants": ["b.service", "a.service"],
            "After": "x.target",
            "RemainAfterExit": True,
            "Nice": 5,
            "Skip": None,
        }
    )
    assert text == (
        "After=x.target\nNice=5\nRemainAfterExit=true\nWants=b.service\nWants=a.service\n"
    )


def test_attrs_to_section_rejects_newlines() -> None:
    with pytest.raises(UnitError, match=r"value of ExecStart= contains a newline"):
        attrs_to_section({"ExecStart": "a\nb"})


@pytest.mark.parametrize(
    "path", ["/", "/data", "/srv/my data/x-y", "/var//lib/", "/.hidden/ü", "/a.b:c_d"]
)
def test_escape_path_matches_systemd_escape(path: str) -> None:
    expected = subprocess.run(
        ["systemd-escape", "--path", path], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert escape_path(path) == expected


def service(value, name: str, definition: dict) -> dict:
    """The merged value of systemd.services.NAME for `definition`."""
    return value(f"systemd.services.{name}", {f"systemd.services.{name}": definition})


def test_service_with_script_path_environment_renders_exact_text(
    store, writer, read, value
) -> None:
    pkg = store.add_text("tool", "x")
    unit = render_service(
        writer,
        "hello",
        service(
            value,
            "hello",
            {
                "description": "Say hello",
                "after": ["network.target"],
                "wants": ["network-online.target"],
                "wantedBy": ["multi-user.target"],
                "environment": {"GREETING": 'hi "you"', "LANG": "C.UTF-8"},
                "path": [pkg],
                "script": "echo $GREETING\n",
                "preStart": "mkdir -p /run/hello",
                "postStart": "true",
                "restartTriggers": ["v1", 2],
                "serviceConfig": {"Type": "oneshot", "RemainAfterExit": True},
                "stopIfChanged": False,
            },
        ),
    )
    trigger = make_text_path("X-Restart-Triggers-hello", b"v1 2", [], store.store_dir)
    exec_start = next(line for line in unit.text.splitlines() if line.startswith("ExecStart="))[10:]
    pre = next(line for line in unit.text.splitlines() if line.startswith("ExecStartPre="))[13:]
    post = next(line for line in unit.text.splitlines() if line.startswith("ExecStartPost="))[14:]
    assert unit.name == "hello.service"
    assert unit.wanted_by == ("multi-user.target",)
    assert unit.text == (
        "[Unit]\n"
        "After=network.target\n"
        "Description=Say hello\n"
        "Wants=network-online.target\n"
        f"X-Restart-Triggers={trigger}\n"
        "\n"
        "[Service]\n"
        'Environment="GREETING=hi \\"you\\""\n'
        'Environment="LANG=C.UTF-8"\n'
        f'Environment="PATH={pkg}/bin:{pkg}/sbin:{DEBIAN_PATH}"\n'
        "X-StopIfChanged=false\n"
        f"ExecStart={exec_start}\n"
        f"ExecStartPost={post}\n"
        f"ExecStartPre={pre}\n"
        "RemainAfterExit=true\n"
        "Type=oneshot\n"
    )
    assert exec_start.startswith(store.store_dir + "/") and exec_start.endswith(
        "-unit-script-hello-start/bin/hello-start"
    )
    assert read(exec_start) == "#!/bin/bash\nset -e\necho $GREETING\n"
    assert read(pre) == "#!/bin/bash\nset -e\nmkdir -p /run/hello\n"
    assert store.real_path(exec_start).stat().st_mode & 0o777 == 0o555
    assert read(trigger) == "v1 2"


def test_reload_and_restart_flags(writer, value) -> None:
    reload = render_service(
        writer, "a", service(value, "a", {"reloadIfChanged": True, "restartIfChanged": False})
    )
    norestart = render_service(writer, "b", service(value, "b", {"restartIfChanged": False}))
    assert "[Service]\n" in reload.text and "X-ReloadIfChanged=true\n" in reload.text
    assert "X-RestartIfChanged" not in reload.text
    assert "X-RestartIfChanged=false\n" in norestart.text


def systemd(value, config: dict) -> dict:
    return value("systemd", {"systemd": config})


def test_start_at_timer_and_disabled_units(writer, value) -> None:
    units = render_systemd(
        writer,
        systemd(
            value,
            {
                "services": {
                    "backup": {"script": "true", "startAt": "daily"},
                    "off": {"enable": False, "script": "x"},
                },
                "sockets": {
                    "echo": {"listenStreams": ["127.0.0.1:7"], "wantedBy": ["sockets.target"]}
                },
            },
        ),
    )
    by_name = {u.name: u for u in units}
    assert sorted(by_name) == ["backup.service", "backup.timer", "echo.socket"]
    assert by_name["backup.timer"].text == "[Unit]\n\n[Timer]\nOnCalendar=daily\n"
    assert by_name["backup.timer"].wanted_by == ("timers.target",)
    assert by_name["echo.socket"].text == "[Unit]\n\n[Socket]\nListenStream=127.0.0.1:7\n"


def test_bad_unit_name_names_the_option(writer, value) -> None:
    with pytest.raises(
        UnitError, match=r"systemd.services.bad name: invalid unit name 'bad name.service'"
    ):
        render_systemd(writer, systemd(value, {"services": {"bad name": {"script": "true"}}}))


def test_script_and_exec_start_conflict_like_nixos(writer, value) -> None:
    with pytest.raises(
        UnitError, match=r"ExecStart of web.service has conflicting definition values"
    ):
        render_systemd(
            writer,
            systemd(
                value,
                {"services": {"web": {"script": "x", "serviceConfig": {"ExecStart": "/bin/true"}}}},
            ),
        )
    unit = render_service(
        writer,
        "web",
        service(value, "web", {"preStart": "x", "serviceConfig": {"ExecStartPre": "/bin/true"}}),
    )
    pre = [line for line in unit.text.splitlines() if line.startswith("ExecStartPre=")]
    assert (
        len(pre) == 2
        and pre[1] == "ExecStartPre=/bin/true"
        and pre[0].endswith("/bin/web-pre-start")
    )
