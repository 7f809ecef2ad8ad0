"""Boot loader (GRUB) entries per generation and the kernel command line."""

from declos.config import Option, types

options = {
    "boot": {
        "loader.grub": {
            "enable": Option(
                types.bool,
                True,
                "Whether declos writes GRUB menu entries, one per kept generation, so that an "
                "older configuration can be chosen at boot.",
            ),
            "device": Option(
                # an argument of grub-install: empty, nodev or an absolute device path
                types.str_matching(r"^(|nodev|/[^\s\x00-\x1f\x7f]+)$"),
                "",
                "The disk GRUB is installed on (e.g. `/dev/vda`); empty means entries are written "
                "but the boot loader itself is not (re)installed.",
                example="/dev/vda",
            ),
            "configurationLimit": Option(
                types.ints.positive,
                100,
                "Maximum number of generations shown in the boot menu.",
            ),
            "extraEntries": Option(
                types.lines,
                "",
                "Extra `menuentry` blocks appended to the generated menu.",
            ),
        },
        "kernelParams": Option(
            types.list_of(types.str),
            [],
            "Parameters added to the kernel command line of every entry.",
            example=["console=ttyS0"],
        ),
    },
}
