"""The OpenSSH server."""

from declos.config import Option, mk_enable_option, types

_settings = types.submodule(
    {
        "freeform_type": types.attrs_of(
            types.one_of([types.bool, types.int, types.str, types.list_of(types.str)])
        ),
        "options": {
            "PasswordAuthentication": Option(
                types.bool, True, "Whether password authentication is allowed."
            ),
            "KbdInteractiveAuthentication": Option(
                types.bool, True, "Whether keyboard-interactive authentication is allowed."
            ),
            "PermitRootLogin": Option(
                types.enum(
                    ["yes", "without-password", "prohibit-password", "forced-commands-only", "no"]
                ),
                "prohibit-password",
                "Whether the root user can log in over SSH.",
            ),
            "X11Forwarding": Option(types.bool, False, "Whether X11 connections may be forwarded."),
        },
    }
)

options = {
    "services.openssh": {
        "enable": mk_enable_option(
            "the OpenSSH secure shell daemon, which allows secure remote logins"
        ),
        "ports": Option(
            types.list_of(types.port),
            [22],
            "Ports on which the daemon listens.",
            example=[22, 2222],
        ),
        "openFirewall": Option(types.bool, True, "Whether to open `ports` in the firewall."),
        "settings": Option(
            _settings,
            {},
            "Entries of sshd_config. Known keys are typed; any other key is passed through.",
            example={"UseDns": True, "PasswordAuthentication": False},
        ),
        "authorizedKeysFiles": Option(
            types.list_of(types.str),
            [],
            "Extra files (besides the keys declos manages) sshd reads authorized keys from.",
        ),
    },
}
