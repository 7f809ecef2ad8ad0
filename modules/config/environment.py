"""The system environment: installed packages and global environment variables."""

from declos.config import Option, literal_expression, types

options = {
    "environment": {
        "systemPackages": Option(
            types.list_of(types.package),
            [],
            "The packages in the system profile (`sw`), which is on `PATH` for login shells. "
            "Each is a derivation (e.g. `pkgs.hello`) or a store path.",
            example=literal_expression("[ pkgs.hello pkgs.curl ]"),
        ),
        "variables": Option(
            types.attrs_of(types.either(types.str, types.list_of(types.str))),
            {},
            "Environment variables set for every login session. A list value is joined with `:`.",
            example={"EDITOR": "vim", "XDG_DATA_DIRS": ["/usr/share", "/usr/local/share"]},
        ),
    },
}
