"""Users and groups: `users.users`, `users.groups` (NixOS users-groups.nix on Debian paths).

Defaults live here and nowhere else: normal users get /home/NAME (created), group
`users` and bash; system users /nonexistent (Debian's convention; NixOS says /var/empty,
which Debian does not have) and nologin. NixOS's assertions about isSystemUser and
isNormalUser and about a system user's group are checked here, before anything is built.
"""

import re

from declos.config import Option, mk_default, types

# Account names and fields become lines of /etc/passwd, /etc/group and /etc/shadow:
# shadow-utils' relaxed name rule as Debian's useradd applies it (the activator checks the
# same rule: 1-32 characters, no `:` `,` `/` `\` whitespace or control characters, not
# starting with - or +, not . or .., not all digits; unicode allowed), and no `:` or control
# characters in any field (issue 8).
ACCOUNT = r"^(?![-+])(?!\.\.?$)(?![0-9]+$)[^:,/\\\s\x00-\x1f\x7f]{1,32}$"
_account = types.str_matching(ACCOUNT)
_field = types.str_matching(r"^[^:\x00-\x1f\x7f]*$")
# Absolute, and no `.` or `..` component: a home of /../../x would be created outside the
# tree under --root (the activator refuses it too).
_abs_path = types.str_matching(r"^(?!.*/\.\.?(?:/|$))/[^:\x00-\x1f\x7f]*$")
# 2**32 - 1 is (uid_t) -1, "no id" to chown(2) and refused by useradd.
_id = types.null_or(types.ints.between(0, 2**32 - 2))


def _name_option(name, what):
    """`name` defaults to the attribute name. An attribute name that is not an account
    name is reported by the builder at the line that wrote it (declos/system/names.py);
    until then its default stays an untyped string, so that the error is not a type
    error of this module's default, far from the user's file."""
    valid = re.fullmatch(ACCOUNT, name) is not None
    return Option(_account if valid else types.str, name, what, default_text="<name>")


def _user(name):
    return {
        "options": {
            "enable": Option(
                types.bool,
                True,
                "If false, the user is not managed (as if it were not declared).",
            ),
            "name": _name_option(name, "The user's login name."),
            "isSystemUser": Option(
                types.bool,
                False,
                "Whether this is a system user: a uid below 1000, no home directory created by default.",
            ),
            "isNormalUser": Option(
                types.bool,
                False,
                "Whether this is a normal (human) user: a uid from 1000, home `/home/<name>` "
                "created, shell set, group `users`.",
            ),
            "uid": Option(
                _id,
                None,
                "The account UID. null picks one and keeps it stable across generations.",
            ),
            "group": Option(
                types.either(_account, types.enum([""])),
                "",
                "The user's primary group.",
                example="users",
            ),
            "extraGroups": Option(
                types.list_of(_account), [], "Supplementary groups.", example=["wheel"]
            ),
            "description": Option(
                _field, "", "A short description (the GECOS field).", example="Alice Q. User"
            ),
            "home": Option(
                _abs_path,
                "/nonexistent",
                "The user's home directory.",
                default_text='"/home/<name>" for normal users, else "/nonexistent"',
            ),
            "createHome": Option(
                types.bool, False, "Whether to create the home directory and make the user own it."
            ),
            "shell": Option(
                types.null_or(types.either(_abs_path, types.package)),
                None,
                "The login shell (a path or a package): `/bin/bash` for normal users and "
                "`/usr/sbin/nologin` for system users unless set. null leaves the choice to the "
                "activator's default, which is the same.",
                default_text='"/bin/bash" for normal users, else "/usr/sbin/nologin"',
                example="/bin/bash",
            ),
            "hashedPassword": Option(
                types.null_or(_field),
                None,
                "The hashed password (as in /etc/shadow; `mkpasswd -m sha-512`). null leaves the "
                "password locked. It ends up in the world-readable store: prefer "
                "`hashedPasswordFile` for real accounts.",
            ),
            "hashedPasswordFile": Option(
                types.null_or(_abs_path),
                None,
                "A file on the target holding the hashed password (NixOS's name), read at "
                "activation: the hash never enters the store. Takes precedence over "
                "`hashedPassword`.",
                example="/run/keys/alice-password",
            ),
            "openssh.authorizedKeys.keys": Option(
                types.list_of(types.single_line_str),
                [],
                "Public keys allowed to log in as this user.",
                example=["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI... alice@laptop"],
            ),
        },
        "config": _user_defaults,
    }


def _user_defaults(config, name):
    if not config.isNormalUser:
        return {"shell": mk_default("/usr/sbin/nologin")}
    defaults = {
        "createHome": mk_default(True),
        "group": mk_default("users"),
        "shell": mk_default("/bin/bash"),
    }
    if re.fullmatch(ACCOUNT, config.name):  # else the name is the error (see _name_option)
        defaults["home"] = mk_default(f"/home/{config.name}")
    return defaults


def _group(name):
    return {
        "name": _name_option(name, "The group's name."),
        "gid": Option(_id, None, "The GID. null picks one and keeps it stable."),
        "members": Option(
            types.list_of(_account),
            [],
            "Users that are members of this group (besides extraGroups).",
        ),
    }


options = {
    "users": {
        "users": Option(
            types.attrs_of(types.submodule(_user)),
            {},
            "The user accounts declos manages. Accounts it did not create are never removed.",
            example={"alice": {"isNormalUser": True, "extraGroups": ["wheel"]}},
        ),
        "groups": Option(
            types.attrs_of(types.submodule(_group)),
            {},
            "The groups declos manages.",
            example={"students": {"gid": 1001}},
        ),
    },
}


def config(config):
    """NixOS's users-groups.nix assertions, with its texts."""
    assertions = []
    for name, user in sorted(config.users.users.items()):
        if not user.enable:
            continue
        where = f"users.users.{name}"
        assertions.append(
            {
                "assertion": user.isNormalUser != user.isSystemUser,
                "message": f"Exactly one of {where}.isSystemUser and {where}.isNormalUser "
                "must be set.",
            }
        )
        assertions.append(
            {
                "assertion": bool(user.group),
                "message": f"{where}.group is unset. This used to default to nogroup, but "
                "this is unsafe. For example you can create a group for this user with: "
                f'users.users.{name}.group = "{name}"; users.groups.{name} = {{}};',
            }
        )
    return {"assertions": assertions}
