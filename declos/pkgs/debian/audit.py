"""`declos pkgs audit PKG`: what a package's maintainer scripts do that declos does not.

declos never runs preinst/postinst/prerm/postrm. This reads them (and the data tree's
setuid files, conffiles and triggers) from the locked .deb and lists every effect, with
the declos mechanism that replaces it, so a missing alternative or setuid bit is a line
in a report instead of a surprise at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from declos.pkgs.debian.deb import read_deb

SCRIPTS = ("preinst", "postinst", "prerm", "postrm", "config")

# (pattern, what it does, what declos offers instead)
EFFECTS: tuple[tuple[str, str, str], ...] = (
    (r"update-alternatives\b", "registers alternatives", "the `alternatives` option"),
    (r"\bsetcap\b", "sets file capabilities", "`security.wrappers` (capabilities)"),
    (r"chmod\s+[ugo]*\+s|dpkg-statoverride", "sets setuid/setgid bits", "`security.wrappers`"),
    (r"\b(adduser|useradd|addgroup|groupadd)\b", "creates users or groups", "`users.users` / `users.groups`"),
    (r"\b(deb-systemd-helper|systemctl|invoke-rc\.d|update-rc\.d|deb-systemd-invoke)\b",
     "enables or starts services", "`systemd.services` in a service module"),
    (r"\b(py3compile|pycompile)\b", "byte-compiles Python modules", "done at build time (.pyc in the store)"),
    (r"\bdb_(get|set|input|go)\b|confmodule", "asks debconf questions", "module options"),
    (r"\bucf\b", "manages a configuration file with ucf", "`environment.etc`"),
    (r"\bldconfig\b", "refreshes the loader cache", "nothing needed (RUNPATH into the store)"),
    (r"\bdpkg-trigger\b", "activates dpkg triggers", "nothing (no dpkg state)"),
    (r"\bmkdir\b|\binstall\s+-d\b", "creates directories", "`systemd.tmpfiles.rules`"),
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """One effect: where it was found, the line, what it does, what to use instead."""

    where: str
    line: str
    effect: str
    instead: str

    def __str__(self) -> str:
        return f"{self.where}: {self.effect} ({self.line.strip()[:80]}) -> {self.instead}"


def audit_deb(path: str) -> list[Finding]:
    control, data = read_deb(path)
    found: list[Finding] = []
    for m in control.getmembers():
        name = m.name.rsplit("/", 1)[-1]
        f = control.extractfile(m) if m.isreg() else None
        if f is None:
            continue
        text = f.read().decode("utf-8", errors="replace")
        if name in SCRIPTS:
            for no, line in enumerate(text.splitlines(), 1):
                if line.lstrip().startswith("#"):
                    continue
                for pattern, effect, instead in EFFECTS:
                    if re.search(pattern, line):
                        found.append(Finding(f"{name}:{no}", line, effect, instead))
        elif name == "conffiles":
            for line in text.splitlines():
                if line.strip():
                    found.append(
                        Finding(
                            "conffiles", line, "ships a configuration file", "`environment.etc`"
                        )
                    )
        elif name == "triggers":
            for line in text.splitlines():
                if line.strip() and not line.startswith("#"):
                    found.append(
                        Finding(
                            "triggers", line, "registers a dpkg trigger", "nothing (no dpkg state)"
                        )
                    )
    for m in data.getmembers():
        if m.isreg() and m.mode & 0o6000:
            found.append(
                Finding(
                    "data",
                    f"{oct(m.mode & 0o7777)} {m.name.lstrip('.')}",
                    "ships a setuid/setgid file (installed without the bit)",
                    "`security.wrappers`",
                )
            )
    return found
