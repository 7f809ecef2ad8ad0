"""`systemd.services`, `systemd.timers`, `systemd.sockets` -> unit files, as NixOS does it.

The per-option mapping follows nixos/lib/systemd-lib.nix and systemd-unit-options: `script`
becomes a store script run by ExecStart, `path` becomes PATH, `restartTriggers` becomes
X-Restart-Triggers= naming a store text file (so any trigger change changes the unit
text). On Debian the base tools live in the host's standard directories, so those end
PATH instead of coreutils & co. `startAt` timers are made by the systemd module; the
definitions arrive here merged and typed (every option present), so nothing is defaulted.
A service with `overrideStrategy = "asDropin"` becomes `NAME.service.d/declos.conf`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from declos.config.values import to_plain
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
            flat.append(json.dumps(to_plain(value), sort_keys=True, default=str))
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


DROPIN = "declos.conf"


def trigger_keys(writer: Writer, unit_name: str, definition: Mapping[str, Any]) -> dict[str, Any]:
    """X-Restart-Triggers / X-Reload-Triggers pointing at a writeText of the triggers."""
    stem = unit_name.rsplit(".", 1)[0]
    keys: dict[str, Any] = {}
    for option, key in (
        ("restartTriggers", "X-Restart-Triggers"),
        ("reloadTriggers", "X-Reload-Triggers"),
    ):
        values = list(definition[option])
        if values:
            keys[key] = [writer.text(f"{key}-{stem}", triggers_text(values))]
    return keys


def script_keys(writer: Writer, stem: str, definition: Mapping[str, Any]) -> dict[str, Any]:
    """ExecStart & co. for the script options that are set, each a store script."""
    service: dict[str, Any] = {}
    for key, script_option, suffix, as_list in (
        ("ExecStartPre", "preStart", "pre-start", True),
        ("ExecStart", "script", "start", False),
        ("ExecStartPost", "postStart", "post-start", True),
        ("ExecReload", "reload", "reload", False),
        ("ExecStop", "preStop", "pre-stop", False),
        ("ExecStopPost", "postStop", "post-stop", False),
    ):
        text = definition[script_option]
        if text:
            path = job_script(writer, f"{stem}-{suffix}", text)
            if key == "ExecStart" and definition["scriptArgs"]:
                path = f"{path} {definition['scriptArgs']}"
            service[key] = [path] if as_list else path
    return service


def render_service(writer: Writer, stem: str, definition: Mapping[str, Any]) -> Unit:
    name = f"{stem}.service"
    unit = common_unit_config(name, definition)
    unit.update(trigger_keys(writer, name, definition))
    service = script_keys(writer, stem, definition)
    for key, value in definition["serviceConfig"].items():
        service[key] = merge_unit_option(name, key, service.get(key), value)
    dropin = definition["overrideStrategy"] == "asDropin"
    environment = dict(definition["environment"])
    if definition["path"] or not dropin:
        environment["PATH"] = path_value(list(definition["path"]))
    text = service_text(
        unit,
        environment,
        service,
        reload_if_changed=definition["reloadIfChanged"],
        restart_if_changed=definition["restartIfChanged"],
        stop_if_changed=definition["stopIfChanged"],
    )
    return Unit(
        name=f"{name}.d/{DROPIN}" if dropin else name,
        text=text,
        wanted_by=names(definition["wantedBy"]),
        required_by=names(definition["requiredBy"]),
    )


def render_timer(writer: Writer, stem: str, definition: Mapping[str, Any]) -> Unit:
    name = f"{stem}.timer"
    unit = common_unit_config(name, definition)
    unit.update(trigger_keys(writer, name, definition))
    return Unit(
        name=name,
        text=typed_text("timer", unit, dict(definition["timerConfig"])),
        wanted_by=names(definition["wantedBy"]),
        required_by=names(definition["requiredBy"]),
    )


def render_socket(writer: Writer, stem: str, definition: Mapping[str, Any]) -> Unit:
    name = f"{stem}.socket"
    unit = common_unit_config(name, definition)
    unit.update(trigger_keys(writer, name, definition))
    socket: dict[str, Any] = {}
    if definition["listenStreams"]:
        socket["ListenStream"] = list(definition["listenStreams"])
    if definition["listenDatagrams"]:
        socket["ListenDatagram"] = list(definition["listenDatagrams"])
    socket.update(definition["socketConfig"])
    return Unit(
        name=name,
        text=typed_text("socket", unit, socket),
        wanted_by=names(definition["wantedBy"]),
        required_by=names(definition["requiredBy"]),
    )


def render_systemd(writer: Writer, systemd: Mapping[str, Any]) -> list[Unit]:
    """All units of `systemd.{services,timers,sockets}` sorted by name; disabled ones
    (`enable = false`) are left out."""
    units: list[Unit] = []
    for kind, render in (
        ("service", render_service),
        ("timer", render_timer),
        ("socket", render_socket),
    ):
        table = systemd[f"{kind}s"]
        for stem in sorted(table):
            definition = table[stem]
            if not definition["enable"]:
                continue
            try:
                units.append(render(writer, stem, definition))
            except UnitError as exc:
                raise UnitError(
                    f"systemd.{kind}s.{stem}: {exc}", ("systemd", f"{kind}s", stem)
                ) from None
    return units
