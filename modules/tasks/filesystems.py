"""`fileSystems` (mount units) and `swapDevices`."""

from declos.config import Option, types

# Mount points become unit names and `Where=` (the builder checks them: the default is
# the attribute name, which no type can check at its definition); devices, labels and types go into mkfs
# scripts and unit lines: typed so `..`, a newline or shell syntax is an error at its
# definition (issue 8); the scripts quote them as well.
_device = types.str_matching(r"^[^\x00-\x1f\x7f]+$")
_label = types.str_matching(r"^[^/\x00-\x1f\x7f]{1,255}$")
_fs_type = types.str_matching(r"^[A-Za-z0-9_.+-]+$")
_mount_option = types.str_matching(r"^[^,\x00-\x1f\x7f]+$")


def _filesystem(name):
    return {
        "mountPoint": Option(
            types.str,
            name,
            "Where to mount the file system. Defaults to the attribute name.",
            default_text="<name>",
        ),
        "device": Option(
            types.null_or(_device), None, "The device (e.g. `/dev/vdb`).", example="/dev/vdb"
        ),
        "label": Option(
            types.null_or(_label), None, "Mount by file system label instead of `device`."
        ),
        "fsType": Option(_fs_type, "auto", "File system type.", example="ext4"),
        "options": Option(types.non_empty_list_of(_mount_option), ["defaults"], "Mount options."),
        "autoFormat": Option(
            types.bool,
            False,
            "If the device has no file system yet, create one of `fsType` (which must then be set) before mounting.",
        ),
        "neededForBoot": Option(
            types.bool, False, "Whether the file system must be mounted in the initrd."
        ),
    }


options = {
    "fileSystems": Option(
        types.attrs_of(types.submodule(_filesystem)),
        {},
        "The file systems to mount, keyed by mount point. `/` is never unmounted.",
        example={"/data": {"device": "/dev/vdb", "fsType": "ext4", "autoFormat": True}},
    ),
    "swapDevices": Option(
        types.list_of(
            types.submodule(
                {
                    "device": Option(_device, description="Path of the swap device or file."),
                    "label": Option(
                        types.null_or(_label),
                        None,
                        "Use the swap partition with this label instead.",
                    ),
                    "size": Option(
                        types.null_or(types.ints.positive),
                        None,
                        "If set, create a swap file of this many MiB.",
                    ),
                    "priority": Option(
                        types.null_or(types.ints.between(-1, 32767)),
                        None,
                        "Priority of this swap device (`Priority=`); null lets the kernel choose.",
                    ),
                    "options": Option(
                        types.list_of(_mount_option),
                        [],
                        "Options of the swap unit (`Options=`).",
                    ),
                }
            )
        ),
        [],
        "Swap devices and files.",
        example=[{"device": "/var/swapfile", "size": 2048}],
    ),
}
