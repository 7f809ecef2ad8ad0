"""`deployment.*`: how `declos deploy` reaches (and creates) a machine, NixOps-style."""

from declos.config import Option, types

_key = types.submodule(
    lambda name: {
        "text": Option(
            types.null_or(types.str), None, "The key's contents (never stored in the store)."
        ),
        "keyFile": Option(
            types.null_or(types.str),
            None,
            "A file on the deploying machine holding the key (read at deploy time, never copied "
            "into the store: give it as a string, not a path literal).",
        ),
        "keyCommand": Option(
            types.null_or(types.list_of(types.str)),
            None,
            "A command (argv) run on the deploying machine whose standard output is the key.",
            example=["pass", "show", "db-password"],
        ),
        "uploadAt": Option(
            types.enum(["pre-activation", "post-activation"]),
            "pre-activation",
            "Upload before activation (services find it when they start) or after it "
            "(when the key's user is created by this very activation).",
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
        "sshKeyFile": Option(
            types.null_or(types.str),
            None,
            "Private key file on the deploying machine used to log in (null: ssh-agent and "
            "~/.ssh/id_*).",
        ),
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
            types.bool,
            False,
            "Activate even when the closure is already the confirmed current generation "
            "(otherwise a no-op redeploy does not activate).",
        ),
        "magicRollback": Option(
            types.bool,
            True,
            "After activation the target waits `confirmTimeout` seconds for the deployer to "
            "reach it over a new SSH connection, and rolls itself back without it.",
        ),
        "confirmTimeout": Option(
            types.ints.positive, 30, "Seconds the target waits for the confirmation."
        ),
        "activationTimeout": Option(
            types.ints.positive, 600, "Seconds the deployer waits for the activation to finish."
        ),
        "healthChecks": {
            "cmd": Option(
                types.list_of(
                    types.submodule(
                        {
                            "description": Option(types.str, "", "What the check shows."),
                            "cmd": Option(
                                types.list_of(types.str),
                                description="Command (argv) run on the target; exit 0 is healthy.",
                            ),
                            "period": Option(types.ints.positive, 2, "Seconds between tries."),
                            "timeout": Option(types.ints.positive, 5, "Seconds per try."),
                            "retries": Option(types.ints.unsigned, 3, "Tries after the first."),
                        }
                    )
                ),
                [],
                "Commands run on the target after confirmation (morph's healthChecks.cmd); "
                "a failing one rolls the machine back.",
            ),
            "http": Option(
                types.list_of(
                    types.submodule(
                        {
                            "description": Option(types.str, "", "What the check shows."),
                            "scheme": Option(types.enum(["http", "https"]), "http", "Scheme."),
                            "host": Option(
                                types.null_or(types.str),
                                None,
                                "Host to connect to (null: the target host).",
                            ),
                            "port": Option(types.port, 80, "Port."),
                            "path": Option(types.str, "/", "Path of the URL."),
                            "headers": Option(types.attrs_of(types.str), {}, "Request headers."),
                            "insecureSSL": Option(types.bool, False, "Skip TLS verification."),
                            "period": Option(types.ints.positive, 2, "Seconds between tries."),
                            "timeout": Option(types.ints.positive, 5, "Seconds per try."),
                            "retries": Option(types.ints.unsigned, 3, "Tries after the first."),
                        }
                    )
                ),
                [],
                "HTTP GETs made from the deploying machine after confirmation; any 2xx is "
                "healthy, anything else rolls the machine back.",
            ),
        },
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
                types.bool,
                True,
                "Whether the VM runs without a graphical console; false adds a VNC display "
                "on 127.0.0.1 (machine attribute `libvirt.display`).",
            ),
            "domainType": Option(
                types.enum(["kvm", "qemu"]), "qemu", "libvirt domain type (`qemu` = TCG emulation)."
            ),
            "baseImageSize": Option(
                types.ints.positive,
                10,
                "Size of the VM's disk in GiB (at least the base image's); the root "
                "filesystem is grown to it right after the first boot.",
            ),
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
            "forwardPorts": Option(
                types.list_of(
                    types.submodule(
                        {
                            "guestPort": Option(types.port, description="TCP port in the VM."),
                            "hostPort": Option(
                                types.null_or(types.port),
                                None,
                                "Port on 127.0.0.1 (null: a free one, recorded in the state).",
                            ),
                        }
                    )
                ),
                [],
                "TCP ports of the VM forwarded to 127.0.0.1 (besides SSH's); `declos export` "
                "shows the host ports (machine attribute `libvirt.forwards`).",
                example=[{"guestPort": 80}],
            ),
            "bootTimeout": Option(
                types.ints.positive,
                600,
                "Seconds `deploy`/`start` wait for the VM's SSH before failing with the last "
                "console lines.",
            ),
            "networks": Option(
                types.list_of(types.str),
                ["default"],
                "Private LANs of the deployment the VM is plugged into (besides its SSH port "
                "forward): machines naming the same LAN share it, other deployments never "
                "see it. Addresses 192.168.K.N/24 inside the VMs (machine attribute "
                "`libvirt.lans`); `[]`: no LAN.",
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
            "bootTimeout": Option(
                types.ints.positive,
                600,
                "Seconds `deploy`/`start` wait for the guest's IP report and SSH before failing "
                "with the last VBox.log lines.",
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
