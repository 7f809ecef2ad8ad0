"""`system.activationScripts`: snippets run on activation, ordered by their `deps`."""

from declos.config import Option, types

_script = types.submodule(
    {
        "text": Option(types.lines, description="The shell commands."),
        "deps": Option(
            types.list_of(types.str), [], "Names of scripts that must run before this one."
        ),
        "supportsDryActivation": Option(
            types.bool,
            False,
            "Whether the snippet may also run on `dry-activate` (then it must change nothing).",
        ),
    }
)

options = {
    "system": {
        "activationScripts": Option(
            types.attrs_of(types.coerced_to(types.str, lambda text: {"text": text}, _script)),
            {},
            "Shell snippets run (as root) on every activation, after /etc, users and "
            "filesystems are in place and before units are started. They must be idempotent. "
            "A plain string is a script without dependencies.",
            example={"stdio": {"text": "mkdir -p /var/lib/app", "deps": []}},
        ),
        "stateVersion": Option(
            types.str,
            "1",
            "The declos release whose defaults stateful data (user ids, database formats) was created with.",
        ),
    },
}
