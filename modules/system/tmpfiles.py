"""`systemd.tmpfiles.rules`: one tmpfiles.d file, applied on every activation.

As NixOS's systemd/tmpfiles.nix, the rules become an /etc entry; the builder hands that
entry's store file to the activator (system.json "tmpfiles"), which runs
`systemd-tmpfiles --create --remove` on it after /etc is in place.
"""

from declos.config import Option, types

TARGET = "tmpfiles.d/00-declos.conf"

options = {
    "systemd.tmpfiles.rules": Option(
        types.list_of(types.single_line_str),
        [],
        "Rules for systemd-tmpfiles (tmpfiles.d(5) lines), applied on activation.",
        example=["d /var/www 0755 root root -"],
    ),
}


def config(config, pkgs):
    rules = config.systemd.tmpfiles.rules
    if not rules:
        return {}
    text = "\n".join(rules) + "\n"
    return {"environment.etc": {TARGET: {"source": pkgs.write_text("tmpfiles.conf", text)}}}
