"""`boot.isContainer` (NixOS's name): the machine is a container, not a booted kernel.

A container (systemd-nspawn, the deploy engineer's test fleet, LXC) shares the host's
kernel: /proc/sys/kernel/hostname is read-only, there is no boot loader and no block
device of its own. With this option the activator skips the kernel host-name write, the
GRUB menu and formatting devices; /etc/hostname is still written. A missing `nft`
binary is fine while the firewall is disabled (and a clear error when it is enabled).
"""

from declos.config import Option, mk_default, types

options = {
    "boot": {
        "isContainer": Option(
            types.bool,
            False,
            "Whether this machine is a container (systemd-nspawn, LXC) rather than a booted "
            "kernel: activation then leaves the kernel host name, the boot loader and block "
            "devices to the container's host.",
        ),
    },
}


def config(config):
    if not config.boot.isContainer:
        return {}
    # a container has no boot loader of its own (NixOS: boot.loader.grub.enable = false)
    return {"boot": {"loader": {"grub": {"enable": mk_default(False)}}}}
