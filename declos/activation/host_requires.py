"""system.json `hostRequires`: Debian packages the host must have at a minimum version.

Debian packages in the store run, by default, on the host's libc (declos.lock records the
libc6 version their closures were resolved against as `base.libc6`). A program linked
against a newer glibc fails on an older one at run time ("GLIBC_2.38 not found"), long
after the switch; so activation compares first and refuses, before anything changes.
The host's versions come from its dpkg status file (read, never written) and are
compared with `dpkg --compare-versions`, dpkg's own ordering.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping

from declos.activation.paths import Host

STATUS = "/var/lib/dpkg/status"


def installed_versions(host: Host, names: set[str]) -> dict[str, str]:
    """Version of each installed package of `names` in the host's dpkg status file."""
    found: dict[str, str] = {}
    text = host.phys(STATUS).read_text(encoding="utf-8", errors="replace")
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line[:1].isspace():
                fields[key] = value.strip()
        name = fields.get("Package")
        if name in names and fields.get("Status", "").endswith(" installed"):
            found[name] = fields.get("Version", "")
    return found


def older(have: str, want: str) -> bool:
    """dpkg's `have < want`."""
    return (
        subprocess.run(
            ["dpkg", "--compare-versions", have, "lt", want], capture_output=True, check=False
        ).returncode
        == 0
    )


def requires_refusal(host: Host, requires: Mapping[str, str]) -> str | None:
    """Why this host cannot run the closure's packages, or None when it can."""
    if not requires:
        return None
    where = f"{host.root}{STATUS}" if host.root is not None else STATUS
    try:
        have = installed_versions(host, set(requires))
    except OSError as exc:
        return (
            f"the closure's Debian packages need {_need(requires)} on the host, but its "
            f"package versions cannot be read ({where}: {exc.strerror or exc}); "
            "build the packages hermetic (pkgs.hermetic = true) for a host without dpkg"
        )
    for name, want in sorted(requires.items()):
        got = have.get(name)
        if got is None or older(got, want):
            state = "not installed" if got is None else f"at {got}"
            return (
                f"the closure's Debian packages were resolved against {name} {want} "
                f"(declos.lock base.{name}) but this host's {name} is {state} ({where}); "
                f"upgrade it on the host (apt-get install {name}), or re-lock against the "
                "host's archive (declos lock), or build the packages hermetic "
                "(pkgs.hermetic = true)"
            )
    return None


def _need(requires: Mapping[str, str]) -> str:
    return ", ".join(f"{n} >= {v}" for n, v in sorted(requires.items()))
