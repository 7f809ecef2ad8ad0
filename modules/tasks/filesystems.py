"""`fileSystems` (mount units) and `swapDevices`."""

from declos.config import Option, types


def _filesystem(name):
    return {
        "mountPoint": Option(
            types.str,
            name,
            "Where to mount the file system. Defaults to the attribute name.",
            default_text="<name>",
        ),
        "device": Option(
            types.null_or(types.str), None, "The device (e.g. `/dev/vdb`).", example="/dev/vdb"
        ),
        "label": Option(
            types.null_or(types.str), None, "Mount by file system label instead of `device`."
        ),
        "fsType": Option(types.str, "auto", "File system type.", example="ext4"),
        "options": Option(
            types.non_empty_list_of(types.non_empty_str), ["defaults"], "Mount options."
        ),
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
                    "device": Option(types.str, description="Path of the swap device or file."),
                    "label": Option(
                        types.null_or(types.str),
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
                        types.list_of(types.non_empty_str),
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
