"""`boot.loader.grub` + `boot.kernelParams` -> the system.json "boot" object.

declos does not build kernels: the Debian host's kernel and initrd are used, so "kernel"
and "initrd" stay null. The activator writes one GRUB
entry per kept generation (newest `configurationLimit`, NixOS default 100) and adds
`declos.generation=N` to each entry's command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from declos.system.errors import RenderError


class BootError(RenderError):
    """A boot option the activator could not act on."""


def render_boot(boot: Mapping[str, Any]) -> dict[str, Any]:
    grub = boot["loader"]["grub"]
    limit = int(grub["configurationLimit"])
    if limit < 1:
        raise BootError(
            "boot.loader.grub.configurationLimit must be at least 1",
            ("boot", "loader", "grub", "configurationLimit"),
        )
    params = [str(p) for p in boot["kernelParams"]]
    for param in params:
        if any(c.isspace() for c in param):
            raise BootError(
                f"boot.kernelParams: {param!r} contains whitespace; give each parameter separately",
                ("boot", "kernelParams"),
            )
    return {
        "kernelParams": params,
        "grub": {
            "enable": bool(grub["enable"]),
            "device": grub["device"] or None,
            "configurationLimit": limit,
            "extraEntries": str(grub["extraEntries"]),
        },
        # declos does not build kernels yet: the distribution's /vmlinuz and /initrd.img.
        "kernel": None,
        "initrd": None,
    }
