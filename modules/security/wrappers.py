"""`security.wrappers`: setuid/setgid and capability programs (NixOS's option).

Debian's maintainer scripts `chmod u+s` or `setcap` files on install; the store keeps
no such bits (every store file is 0444/0555, root-owned). A wrapper is a copy of the
program made at activation in a fresh directory under `security.wrapperDir`, with the
owner, group, mode bits and capabilities asked for; the directory is swapped in
atomically (the `current` link) and put first on the login PATH.
"""

import shlex

from declos.config import Option, types

_wrapper = types.submodule(
    {
        "source": Option(types.path, description="The program to wrap (a store path)."),
        "program": Option(
            types.null_or(types.str),
            None,
            "File name in the wrapper directory (default: the attribute name).",
        ),
        "owner": Option(types.str, "root", "Owner of the wrapper."),
        "group": Option(types.str, "root", "Group of the wrapper."),
        "setuid": Option(types.bool, False, "Set the setuid bit."),
        "setgid": Option(types.bool, False, "Set the setgid bit."),
        "capabilities": Option(
            types.str, "", "File capabilities as setcap(8) takes them, e.g. `cap_net_raw+ep`."
        ),
        "permissions": Option(types.str, "u+rx,g+x,o+x", "chmod(1) mode of the wrapper."),
    }
)

options = {
    "security": {
        "wrappers": Option(
            types.attrs_of(_wrapper),
            {},
            "Programs copied at activation into `security.wrapperDir`/current/bin with the "
            "given owner, mode bits and capabilities (what Debian's postinst would chmod or setcap).",
            example={
                "ping": {
                    "source": "${pkgs.iputils-ping}/bin/ping",
                    "capabilities": "cap_net_raw+ep",
                }
            },
        ),
        "wrapperDir": Option(
            types.str,
            "/run/declos/wrappers",
            "Where wrapper generations live (tmpfs: rebuilt every boot).",
        ),
    },
}


def script(wrappers, wrapper_dir):
    """The activation snippet: build a new generation dir, then swap `current` to it."""
    q = shlex.quote
    lines = [
        "set -e",
        f"base={q(wrapper_dir)}",
        'mkdir -p "$base"',
        'new=$(mktemp -d "$base/gen.XXXXXX")',
        'mkdir "$new/bin"',
    ]
    for name in sorted(wrappers):
        w = wrappers[name]
        dest = f'"$new/bin/"{q(w["program"] or name)}'
        lines += [
            f"cp -L {q(str(w['source']))} {dest}",
            f"chown {q(w['owner'])}:{q(w['group'])} {dest}",
            f"chmod {q(w['permissions'])} {dest}",
        ]
        if w["setuid"]:
            lines.append(f"chmod u+s {dest}")
        if w["setgid"]:
            lines.append(f"chmod g+s {dest}")
        if w["capabilities"]:
            lines += [
                "command -v setcap >/dev/null || { echo 'security.wrappers: setcap (libcap2-bin) is not installed' >&2; exit 1; }",
                f"setcap {q(w['capabilities'])} {dest}",
            ]
    lines += [
        'chmod 0755 "$new"',
        'old=$(readlink "$base/current" || true)',
        'ln -sfn "$new" "$base/current.tmp" && mv -T "$base/current.tmp" "$base/current"',
        'if [ -n "$old" ] && [ "$old" != "$new" ]; then rm -rf -- "$old"; fi',
    ]
    return "\n".join(lines) + "\n"


def config(config):
    cfg = config.security
    if not cfg.wrappers:
        return {}
    wrappers = {name: dict(w) for name, w in cfg.wrappers.items()}
    bindir = f"{cfg.wrapperDir}/current/bin"
    return {
        "system.activationScripts.wrappers": {"text": script(wrappers, cfg.wrapperDir), "deps": []},
        # sourced after profile.d/declos.sh (the sw profile), so wrappers come first on PATH
        "environment.etc": {
            "profile.d/wrappers-declos.sh": {"text": f'export PATH="{bindir}:$PATH"\n'}
        },
    }
