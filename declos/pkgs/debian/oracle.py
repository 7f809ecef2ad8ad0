"""apt as the oracle: `apt-get install -s` against the same indices, empty dpkg status.

A private apt directory holds the exact InRelease and Packages files the resolver read
(from the declos cache), an empty status file and no host configuration, so apt's
solver answers for a system with nothing installed and nothing is written outside it.
"""

from __future__ import annotations

import lzma
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from declos.pkgs.debian.archive import Release, cache_dir
from declos.pkgs.debian.errors import DebianError
from declos.pkgs.debian.sources import AptSource

_INST = re.compile(r"^Inst (\S+) ", re.M)


def _mangle(uri: str) -> str:
    return re.sub(r"^[a-z+]+://", "", uri).rstrip("/").replace("/", "_")


def prepare_apt_dir(
    root: str, suites: Sequence[tuple[AptSource, Release]], arch: str = "amd64"
) -> list[str]:
    """Fill `root` with lists/sources/status for apt; returns apt-get's -o options."""
    lists = os.path.join(root, "state/lists")
    os.makedirs(lists + "/partial", exist_ok=True)
    os.makedirs(os.path.join(root, "cache/archives/partial"), exist_ok=True)
    os.makedirs(os.path.join(root, "empty"), exist_ok=True)
    with open(os.path.join(root, "status"), "w"):
        pass
    lines = []
    for source, release in suites:
        prefix = f"{_mangle(source.uri)}_dists_{source.suite}"
        data = (cache_dir() / "debian-index" / f"InRelease-{release.sha256}").read_bytes()
        with open(os.path.join(lists, prefix + "_InRelease"), "wb") as f:
            f.write(data)
        for comp in source.components:
            sha, _ = release.index_hash(comp, arch)
            xz = cache_dir() / "debian-index" / f"Packages-{sha}.xz"
            with open(os.path.join(lists, f"{prefix}_{comp}_binary-{arch}_Packages"), "wb") as f:
                f.write(lzma.decompress(xz.read_bytes()))
        lines.append(
            f"deb [arch={arch} signed-by={source.keyring}] {source.uri} {source.suite} "
            + " ".join(source.components)
        )
    with open(os.path.join(root, "sources.list"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return [
        f"Dir::State={root}/state",
        f"Dir::State::status={root}/status",
        f"Dir::Cache={root}/cache",
        # Hosts built from container images often disable apt's binary cache
        # (apt.conf.d/docker-clean); without it every apt-get run re-parses 50 MB.
        "Dir::Cache::pkgcache=pkgcache.bin",
        "Dir::Cache::srcpkgcache=srcpkgcache.bin",
        f"Dir::Etc::SourceList={root}/sources.list",
        f"Dir::Etc::SourceParts={root}/empty",
        f"Dir::Etc::Parts={root}/empty",
        f"Dir::Etc::Preferences={root}/empty/none",
        f"Dir::Etc::PreferencesParts={root}/empty",
        "Debug::NoLocking=1",
        "APT::Install-Recommends=false",
        f"APT::Architecture={arch}",
        "APT::Architectures::=",
    ]


def apt_closures(
    suites: Sequence[tuple[AptSource, Release]],
    roots: Sequence[str],
    arch: str = "amd64",
    *,
    recommends: bool = False,
    target: str = "",
) -> dict[str, set[str]]:
    """For each root, the set of package names `apt-get install -s ROOT` would install
    (with APT::Install-Recommends=true when `recommends`; with `-t TARGET`, that suite
    as the target release, when `target`)."""
    result: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory(prefix="declos-apt-") as tmp:
        opts = prepare_apt_dir(tmp, suites, arch)
        if recommends:
            opts = [o for o in opts if not o.startswith("APT::Install-Recommends=")]
            opts.append("APT::Install-Recommends=true")
        if target:
            opts.append(f"APT::Default-Release={target}")
        argv_opts = [a for o in opts for a in ("-o", o)]
        conf = os.path.join(tmp, "apt.conf")
        with open(conf, "w"):
            pass
        env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "APT_CONFIG": conf, "LC_ALL": "C"}
        subprocess.run(["apt-cache", *argv_opts, "gencaches"], capture_output=True, env=env)

        def one(root: str) -> set[str]:
            proc = subprocess.run(
                ["apt-get", *argv_opts, "install", "-s", "-q", "-y", root],
                capture_output=True,
                text=True,
                env=env,
            )
            if proc.returncode != 0:
                raise DebianError(f"apt-get install -s {root} failed:\n{proc.stderr.strip()}")
            return set(_INST.findall(proc.stdout))

        with ThreadPoolExecutor(2) as pool:
            for root, names in zip(roots, pool.map(one, roots), strict=True):
                result[root] = names
    return result
