"""`environment.etc`: the files declos manages under /etc."""

from declos.config import Option, types


def _etc_file(name):
    return {
        "enable": Option(types.bool, True, "Whether this /etc file should be generated."),
        "target": Option(
            types.str,
            name,
            "Name of the file relative to /etc. Defaults to the attribute name.",
            default_text="<name>",
        ),
        "text": Option(
            types.null_or(types.lines),
            None,
            "Text of the file. Either `text` or `source` must be set.",
        ),
        "source": Option(
            types.null_or(types.either(types.path, types.package)),
            None,
            "Path of the source file (a store path, or a derivation whose output is the file).",
        ),
        "mode": Option(
            types.str_matching(r"^(symlink|direct-symlink|0?[0-7]{3,4})$"),
            "symlink",
            "`symlink` makes /etc/NAME a symlink into the system closure; an octal mode such "
            "as `0440` copies the file instead, with that mode.",
            example="0600",
        ),
        "user": Option(
            types.str,
            "+0",
            "Owner of a copied file (name, or `+UID`); only used when `mode` is not `symlink`.",
        ),
        "group": Option(
            types.str,
            "+0",
            "Group of a copied file (name, or `+GID`); only used when `mode` is not `symlink`.",
        ),
        "replaceExisting": Option(
            types.bool,
            False,
            "Whether declos may replace a file it did not create. The old file is backed up "
            "and restored when the entry is removed from the configuration. Without this, an "
            "existing unmanaged file is an activation error.",
        ),
    }


options = {
    "environment.etc": Option(
        types.attrs_of(types.submodule(_etc_file)),
        {},
        "Files to place in /etc, keyed by their name below /etc.",
        example={"hosts.allow": {"text": "ALL: 127.0.0.1\n", "mode": "0444"}},
    ),
}
