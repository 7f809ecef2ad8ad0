"""`systemd.services`, `systemd.timers`, `systemd.sockets` -> unit files, as NixOS does it.

The per-option mapping follows nixos/lib/systemd-lib.nix and systemd-unit-options: `script`
becomes a store script run by ExecStart, `path` becomes PATH, `restartTriggers` becomes
X-Restart-Triggers= naming a store text file (so any trigger change changes the unit
text), and `startAt` adds a timer wanted by timers.target. On Debian the base tools live
in the host's standard directories, so those end PATH instead of coreutils & co.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from declos.system.units import (
    Unit,
    UnitError,
    common_unit_config,
    names,
    service_text,
    typed_text,
)
from declos.system.writer import Writer

DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def script_name(name: str) -> str:
    """NixOS makeJobScript's file name: backslash -> '-', '@' -> '_'."""
    return name.replace("\\", "-").replace("@", "_")


def job_script(writer: Writer, name: str, text: str) -> str:
    """makeJobScript: a bash script with `set -e` in its own store path; returns the file."""
    body = "#!/bin/bash\nset -e\n" + text.rstrip("\n") + "\n"
    file_name = script_name(name)
    return writer.script(file_name, body, store_name=f"unit-script-{file_name}")


def path_value(path: list[Any]) -> str:
    """PATH for `path = [pkgs...]`: every bin/, then every sbin/, then the host's defaults."""
    entries = [str(p) for p in path]
    parts = [f"{p}/bin" for p in entries] + [f"{p}/sbin" for p in entries] + [DEBIAN_PATH]
    return ":".join(parts)


def triggers_text(values: list[Any]) -> str:
    """Nix's toString on a flattened list: space-separated, derivations as their out paths
    (an attribute set, which Nix refuses, is written as canonical JSON)."""
    flat: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif value is None or value is False:
            flat.append("")
        elif value is True:
            flat.append("1")
        elif isinstance(value, Mapping) and not hasattr(value, "out_path"):
            flat.append(json.dumps(value, sort_keys=True, default=str))
        else:
            flat.append(str(value))

    walk(values)
    return " ".join(flat)


def merge_unit_option(unit: str, key: str, ours: Any, theirs: Any) -> Any:
    """NixOS unitOption merge: lists concatenate, single values must agree."""
    if ours is None:
        return theirs
    if isinstance(ours, list) or isinstance(theirs, list):
        return [
            *(ours if isinstance(ours, list) else [ours]),
            *(theirs if isinstance(theirs, list) else [theirs]),
        ]
    if ours != theirs:
        raise UnitError(
            f"{key} of {unit} has conflicting definition values: {ours!r} (from the script option) "
            f"and {theirs!r} (from serviceConfig.{key}); set only one of them"
        )
    return ours


def trigger_keys(writer: Writer, unit_name: str, definition: Mapping[str, Any]) -> dict[str, Any]:
    """X-Restart-Triggers / X-Reload-Triggers pointing at a writeText of the triggers."""
    stem = unit_name.rsplit(".", 1)[0]
    keys: dict[str, Any] = {}
    for option, key in (
        ("restartTriggers", "X-Restart-Triggers"),
        ("reloadTriggers", "X-Reload-Triggers"),
    ):
        values = list(definition.get(option) or [])
        if values:
            keys[key] = [writer.text(f"{key}-{stem}", triggers_text(values))]
    return keys


def render_service(writer: Writer, stem: str, definition: Mapping[str, Any]) -> Unit:
    name = f"{stem}.service"
    unit = common_unit_config(name, definition)
    unit.update(trigger_keys(writer, name, definition))
    service: dict[str, Any] = {}
    for key, script_option, suffix, as_list in (
        ("ExecStartPre", "preStart", "pre-start", True),
        ("ExecStart", "script", "start", False),
        ("ExecStartPost", "postStart", "post-start", True),
        ("ExecReload", "reload", "reload", False),
        ("ExecStop", "preStop", "pre-stop", False),
        ("ExecStopPost", "postStop", "post-stop", False),
    ):
        text = definition.get(script_option) or ""
        if text:
            path = job_script(writer, f"{stem}-{suffix}", text)
            script_args = definition.get("scriptArgs") or ""
            if key == "ExecStart" and script_args:
                path = f"{path} {script_args}"
            service[key] = [path] if as_list else path
    for key, value in (definition.get("serviceConfig") or {}).items():
        service[key] = merge_unit_option(name, key, service.get(key), value)
    environment = dict(definition.get("environment") or {})
    environment["PATH"] = path_value(list(definition.get("path") or []))
    text = service_text(
        unit,
        environment,
        service,
        reload_if_changed=bool(definition.get("reloadIfChanged", False)),
        restart_if_changed=bool(definition.get("restartIfChanged", True)),
        stop_if_changed=bool(definition.get("stopIfChanged", True)),
    )
    return Unit(
        name=name,
        text=text,
        wanted_by=names(definition.get("wantedBy") or []),
        required_by=names(definition.get("requiredBy") or []),
    )


def render_timer(writer: Writer, stem: str, definition: Mapping[str, Any]) -> Unit:
    name = f"{stem}.timer"
    unit = common_unit_config(name, definition)
    unit.update(trigger_keys(writer, name, definition))
    return Unit(
        name=name,
        text=typed_text("timer", unit, dict(definition.get("timerConfig") or {})),
        wanted_by=names(definition.get("wantedBy") or []),
        required_by=names(definition.get("requiredBy") or []),
    )


def render_socket(writer: Writer, stem: str, definition: Mapping[str, Any]) -> Unit:
    name = f"{stem}.socket"
    unit = common_unit_config(name, definition)
    unit.update(trigger_keys(writer, name, definition))
    socket: dict[str, Any] = {}
    if definition.get("listenStreams"):
        socket["ListenStream"] = list(definition["listenStreams"])
    if definition.get("listenDatagrams"):
        socket["ListenDatagram"] = list(definition["listenDatagrams"])
    socket.update(definition.get("socketConfig") or {})
    return Unit(
        name=name,
        text=typed_text("socket", unit, socket),
        wanted_by=names(definition.get("wantedBy") or []),
        required_by=names(definition.get("requiredBy") or []),
    )


def start_at_timers(services: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """NixOS: a service with startAt gets NAME.timer wanted by timers.target, OnCalendar=startAt."""
    timers: dict[str, dict[str, Any]] = {}
    for stem, definition in services.items():
        if not definition.get("enable", True):
            continue
        start_at = definition.get("startAt") or []
        if isinstance(start_at, str):
            start_at = [start_at]
        if start_at:
            timers[stem] = {
                "wantedBy": ["timers.target"],
                "timerConfig": {"OnCalendar": list(start_at)},
            }
    return timers


def render_systemd(writer: Writer, systemd: Mapping[str, Any]) -> list[Unit]:
    """All units of `systemd.*` sorted by name; disabled ones are left out (NixOS `enable`)."""
    services = dict(systemd.get("services") or {})
    timers = dict(start_at_timers(services))
    for stem, definition in (systemd.get("timers") or {}).items():
        merged = dict(timers.get(stem, {}))
        merged.update(definition)
        timers[stem] = merged
    units: list[Unit] = []
    for kind, table, render in (
        ("service", services, render_service),
        ("timer", timers, render_timer),
        ("socket", dict(systemd.get("sockets") or {}), render_socket),
    ):
        for stem in sorted(table):
            definition = table[stem] or {}
            if not definition.get("enable", True):
                continue
            try:
                units.append(render(writer, stem, definition))
            except UnitError as exc:
                raise UnitError(
                    f"systemd.{kind}s.{stem}: {exc}", ("systemd", f"{kind}s", stem)
                ) from None
    return units
