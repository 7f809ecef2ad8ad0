"""`deployment.*`: how `declos deploy` reaches (and creates) a machine, NixOps-style."""

from declos.config import Option, types

_key = types.submodule(
    lambda name: {
        "text": Option(
            types.null_or(types.str), None, "The key's contents (never stored in the store)."
        ),
        "keyFile": Option(
            types.null_or(types.str), None, "A file on the deploying machine holding the key."
        ),
        "destDir": Option(types.str, "/run/keys", "Directory on the target the key is written to."),
        "name": Option(
            types.str, name, "File name of the key in `destDir`.", default_text="<name>"
        ),
        "user": Option(types.str, "root", "Owner of the key file."),
        "group": Option(types.str, "root", "Group of the key file."),
        "permissions": Option(
            types.str_matching(r"^0?[0-7]{3,4}$"), "0600", "Mode of the key file."
        ),
    }
)

options = {
    "deployment": {
        "targetEnv": Option(
            types.enum(["none", "libvirt", "virtualbox"]),
            "none",
            "The environment the machine runs in: `none` is an existing host reached over SSH; "
            "`libvirt` and `virtualbox` are virtual machines declos creates.",
        ),
        "targetHost": Option(
            types.null_or(types.str),
            None,
            "Host name or address `declos deploy` connects to. null: the machine's name "
            "(for `none`) or the address the backend reports.",
            example="127.0.0.1",
        ),
        "targetPort": Option(types.port, 22, "SSH port of the target."),
        "targetUser": Option(types.str, "root", "User `declos deploy` logs in as."),
        "sshOptions": Option(
            types.list_of(types.str),
            [],
            "Extra options passed to SSH.",
            example=["-o", "ConnectTimeout=5"],
        ),
        "tags": Option(
            types.list_of(types.str), [], "Tags for selecting machines with `--on @tag`."
        ),
        "alwaysActivate": Option(
            types.bool, True, "Activate even when the closure did not change."
        ),
        "hasFastConnection": Option(
            types.bool, False, "Whether the target can fetch paths faster than we can copy them."
        ),
        "keys": Option(
            types.attrs_of(_key),
            {},
            "Secrets copied to the target outside the store (they never enter it).",
        ),
        "libvirt": {
            "URI": Option(types.str, "qemu:///system", "Connection URI of the libvirt daemon."),
            "memorySize": Option(types.ints.positive, 1024, "Memory of the VM in MiB."),
            "vcpu": Option(types.ints.positive, 1, "Number of virtual CPUs."),
            "headless": Option(
                types.bool, True, "Whether the VM runs without a graphical console."
            ),
            "domainType": Option(
                types.enum(["kvm", "qemu"]), "qemu", "libvirt domain type (`qemu` = TCG emulation)."
            ),
            "baseImageSize": Option(types.ints.positive, 10, "Size of the VM's disk in GiB."),
            "baseImage": Option(
                types.null_or(types.str),
                None,
                "Path of the base image the VM's disk overlays. null builds the default Debian image.",
            ),
            "sshPort": Option(
                types.null_or(types.port),
                None,
                "Port on 127.0.0.1 forwarded to the VM's SSH port (null: pick one).",
            ),
            "networks": Option(
                types.list_of(types.str),
                [],
                "VDE switch sockets the VM is connected to (besides its SSH port forward).",
            ),
            "extraDevicesXML": Option(
                types.lines, "", "Extra XML inside the domain's `<devices>`."
            ),
        },
        "virtualbox": {
            "memorySize": Option(types.ints.positive, 512, "Memory of the VM in MiB."),
            "vcpu": Option(
                types.null_or(types.ints.positive),
                None,
                "Number of virtual CPUs (null: VirtualBox's default).",
            ),
            "headless": Option(types.bool, False, "Whether the VM is started without a window."),
            "vmFlags": Option(
                types.list_of(types.str), [], "Extra flags passed to `VBoxManage modifyvm`."
            ),
            "disks": Option(
                types.attrs_of(
                    types.submodule(
                        {
                            "port": Option(types.ints.unsigned, description="SATA port number."),
                            "size": Option(
                                types.ints.unsigned, description="Size in MiB (0: use baseImage)."
                            ),
                            "baseImage": Option(
                                types.null_or(types.str), None, "Image the disk is cloned from."
                            ),
                        }
                    )
                ),
                {},
                "Disks of the VM.",
            ),
        },
    },
}
