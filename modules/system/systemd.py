"""systemd units: `systemd.services`, `systemd.timers`, `systemd.sockets`.

Unit options follow NixOS (`nixos/lib/systemd-unit-options.nix`); the unit files are
rendered into the system closure and compared on switch like switch-to-configuration.
As in NixOS's systemd.nix, a service's `startAt` becomes a timer here (`config`), so
the builder only ever renders the units it is given.
"""

from declos.config import Option, types

# A unit file value is one line: a newline (or CR, NUL) would start a new key or section
# of the unit (issue 8), so it is an error at its definition, not a surprise in the unit.
_line = types.str_matching(r"^[^\n\r\x00]*$")
_unit_value = types.one_of(
    [
        types.bool,
        types.int,
        _line,
        types.package,
        types.list_of(types.either(_line, types.int)),
    ]
)
_section = types.attrs_of(_unit_value)

# Unit names in dependency lists become `TARGET.wants/NAME` paths and `After=` lines:
# typed, so `../x` or a newline is an error at its definition (issue 8).
_unit_name = types.str_matching(
    r"^(?:[A-Za-z0-9:_.@-]|\\x[0-9a-f]{2})+"
    r"\.(service|socket|timer|target|mount|swap|path|slice|automount|device|scope)$"
)
_units = types.list_of(_unit_name)


def _common():
    """Options every unit kind has (NixOS `sharedOptions` + `unitOptions`)."""
    return {
        "enable": Option(
            types.bool,
            True,
            "If false, the unit is not installed. Use this to drop a unit some other module defines.",
        ),
        "description": Option(
            types.single_line_str, "", "Description of this unit (`Description=`)."
        ),
        "documentation": Option(
            types.list_of(types.str), [], "Documentation URIs (`Documentation=`)."
        ),
        "wantedBy": Option(
            _units,
            [],
            "Units (usually targets) that want this unit.",
            example=["multi-user.target"],
        ),
        "requiredBy": Option(_units, [], "Units that require this unit."),
        "requires": Option(_units, [], "Units this unit requires (`Requires=`)."),
        "wants": Option(_units, [], "Units this unit wants (`Wants=`)."),
        "after": Option(
            _units,
            [],
            "Units this unit starts after (`After=`).",
            example=["network.target"],
        ),
        "before": Option(_units, [], "Units this unit starts before (`Before=`)."),
        "bindsTo": Option(_units, [], "`BindsTo=` dependencies."),
        "partOf": Option(_units, [], "`PartOf=` dependencies."),
        "conflicts": Option(_units, [], "`Conflicts=` dependencies."),
        "requisite": Option(_units, [], "`Requisite=` dependencies."),
        "onFailure": Option(_units, [], "Units activated when this unit fails (`OnFailure=`)."),
        "unitConfig": Option(
            _section,
            {},
            "Extra entries of the `[Unit]` section.",
            example={"RequiresMountsFor": "/data"},
        ),
        "restartTriggers": Option(
            types.list_of(types.anything),
            [],
            "Values whose change (between the running and the new generation) restarts the unit on switch "
            "(`X-Restart-Triggers=`).",
        ),
        "reloadTriggers": Option(
            types.list_of(types.anything),
            [],
            "Values whose change reloads the unit on switch (`X-Reload-Triggers=`).",
        ),
    }


def _service(name):
    return {
        **_common(),
        "environment": Option(
            types.attrs_of(types.null_or(types.either(types.str, types.package))),
            {},
            "Environment variables of the service's processes.",
            example={"TZ": "CET"},
        ),
        "path": Option(
            types.list_of(types.either(types.package, types.str)),
            [],
            "Packages whose `bin` and `sbin` directories are put on the service's `PATH`.",
        ),
        "serviceConfig": Option(
            _section,
            {},
            "Entries of the `[Service]` section.",
            example={"ExecStart": "/usr/bin/python3 -m http.server 8000", "Restart": "always"},
        ),
        "script": Option(
            types.lines,
            "",
            "Shell commands run as the service's main process (becomes `ExecStart=` of a store script).",
        ),
        "scriptArgs": Option(types.str, "", "Arguments passed to `script`."),
        "preStart": Option(
            types.lines, "", "Shell commands run before the main process (`ExecStartPre=`)."
        ),
        "postStart": Option(
            types.lines, "", "Shell commands run after the main process started (`ExecStartPost=`)."
        ),
        "reload": Option(types.lines, "", "Shell commands run on reload (`ExecReload=`)."),
        "preStop": Option(types.lines, "", "Shell commands run before stopping (`ExecStop=`)."),
        "postStop": Option(types.lines, "", "Shell commands run after stopping (`ExecStopPost=`)."),
        "restartIfChanged": Option(
            types.bool,
            True,
            "Whether the service is restarted on switch when its unit changed (`X-RestartIfChanged=`).",
        ),
        "reloadIfChanged": Option(
            types.bool,
            False,
            "Whether the service is reloaded instead of restarted when its unit changed.",
        ),
        "stopIfChanged": Option(
            types.bool,
            True,
            "If true, a changed service is stopped with the old unit and started with the new "
            "one; if false it is restarted in one step (`X-StopIfChanged=`).",
        ),
        "startAt": Option(
            types.either(_line, types.list_of(_line)),
            [],
            "When to start the service automatically, in systemd.time(7) calendar format: makes a timer unit.",
            example="Sun 14:00:00",
        ),
        "overrideStrategy": Option(
            types.enum(["asDropinIfExists", "asDropin"]),
            "asDropinIfExists",
            "How the unit is installed. `asDropin` extends a unit the distribution ships "
            "(e.g. Debian's `ssh.service`) with the drop-in `NAME.service.d/declos.conf` "
            "instead of replacing it; `PATH` is then set only when `path` is non-empty. declos "
            "cannot see the host's units at build time, so `asDropinIfExists` (NixOS's "
            "default) installs a complete unit.",
        ),
    }


def _timer(name):
    return {
        **_common(),
        "timerConfig": Option(
            _section, {}, "Entries of the `[Timer]` section.", example={"OnCalendar": "daily"}
        ),
    }


def _socket(name):
    return {
        **_common(),
        "listenStreams": Option(
            types.list_of(types.str), [], "`ListenStream=` addresses.", example=["0.0.0.0:993"]
        ),
        "listenDatagrams": Option(types.list_of(types.str), [], "`ListenDatagram=` addresses."),
        "socketConfig": Option(_section, {}, "Entries of the `[Socket]` section."),
    }


options = {
    "systemd": {
        "services": Option(
            types.attrs_of(types.submodule(_service)),
            {},
            "systemd service units, keyed by name (without `.service`).",
        ),
        "timers": Option(
            types.attrs_of(types.submodule(_timer)),
            {},
            "systemd timer units, keyed by name (without `.timer`).",
        ),
        "sockets": Option(
            types.attrs_of(types.submodule(_socket)),
            {},
            "systemd socket units, keyed by name (without `.socket`).",
        ),
    },
}


def config(config):
    """NixOS: a service with `startAt` gets NAME.timer, wanted by timers.target, with
    `OnCalendar=` each value; an explicit `systemd.timers.NAME` merges with it."""
    timers = {}
    for name, service in config.systemd.services.items():
        start_at = [service.startAt] if isinstance(service.startAt, str) else service.startAt
        if service.enable and start_at:
            timers[name] = {
                "wantedBy": ["timers.target"],
                "timerConfig": {"OnCalendar": list(start_at)},
            }
    return {"systemd": {"timers": timers}} if timers else {}
