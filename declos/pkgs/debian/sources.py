"""The host's apt sources: where packages are fetched from, read, never written down.

declos never stores a mirror's host name: `declos lock` and the fetch builder read the
archive URIs from the machine's own apt configuration (deb822 `.sources` files and
one-line `.list` files), so a lock made on one host builds on any other with its own mirror.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

from declos.pkgs.debian.errors import DebianError

DEFAULT_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


@dataclass(frozen=True)
class AptSource:
    """One `deb` source: archive URI, suite, components, and the keyring it is signed with."""

    uri: str
    suite: str
    components: tuple[str, ...]
    keyring: str = DEFAULT_KEYRING


def host_sources(apt_root: str = "/") -> list[AptSource]:
    """Every `deb` source of the host's apt configuration under `apt_root`, in file order."""
    etc = os.path.join(apt_root, "etc/apt")
    found: list[AptSource] = []
    one_line = [os.path.join(etc, "sources.list")] + sorted(
        glob.glob(os.path.join(etc, "sources.list.d/*.list"))
    )
    for path in one_line:
        if os.path.isfile(path):
            found += _parse_one_line(path)
    for path in sorted(glob.glob(os.path.join(etc, "sources.list.d/*.sources"))):
        found += _parse_deb822(path)
    if not found:
        raise DebianError(
            f"no `deb` source in {etc}/sources.list or {etc}/sources.list.d/; "
            "declos takes the Debian archive from the host's apt configuration — add one there"
        )
    return found


def mirror_for(sources: list[AptSource], suite: str) -> list[str]:
    """The archive URIs that serve `suite` (a lock names suites, never hosts)."""
    return [s.uri for s in sources if s.suite == suite]


def _parse_one_line(path: str) -> list[AptSource]:
    result = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if not words or words[0] != "deb":
                continue
            words = words[1:]
            keyring = DEFAULT_KEYRING
            if words and words[0].startswith("["):
                opts = []
                while words and not words[0].endswith("]"):
                    opts.append(words.pop(0))
                opts.append(words.pop(0))
                for opt in " ".join(opts).strip("[]").split():
                    key, _, value = opt.partition("=")
                    if key == "signed-by" and value.startswith("/"):
                        keyring = value
            if len(words) < 2:
                continue
            result.append(AptSource(words[0].rstrip("/"), words[1], tuple(words[2:]), keyring))
    return result


def _parse_deb822(path: str) -> list[AptSource]:
    result = []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith("#") or line[0].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled") == "no":
            continue
        keyring = fields.get("signed-by", DEFAULT_KEYRING)
        if not keyring.startswith("/"):
            keyring = DEFAULT_KEYRING
        comps = tuple(fields.get("components", "").split())
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                result.append(AptSource(uri.rstrip("/"), suite, comps, keyring))
    return result
