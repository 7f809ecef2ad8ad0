"""The cached Debian 12 guest image every VM boots from.

Built without loop devices or mounts on the host: mmdebstrap fills a directory,
`mkfs.ext4 -d` turns it into a filesystem image, `qemu-img convert` makes it qcow2.
The kernel and initrd are copied beside it because guests boot them directly (no
bootloader, no firmware menu: several seconds saved per boot under TCG).

The cache entry is named after a hash of everything that shapes the image (the recipe),
built in a temporary directory next to it and renamed into place only when complete, so a
half-built image never counts and concurrent builders (several pytest sessions on one
machine) wait on a lock instead of building twice. See docs/vm-harness.md for the layout.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from declos.virt import guest_files
from declos.virt.errors import VirtError

RECIPE_VERSION = 1

BASE_PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "udev",
    "dbus",
    "openssh-server",
    "python3",
    "linux-image-amd64",
    "initramfs-tools",
    "nftables",
    "iproute2",
    "e2fsprogs",
    "netcat-openbsd",
    "iputils-ping",
    "procps",
    "kmod",
    # /etc/protocols and /etc/services: every real Debian install has them (priority
    # important); without them getprotobyname("tcp") is undef and Perl's Net::Server
    # (munin-node) cannot bind.
    "netbase",
)

ROOT_LABEL = "declos-root"


def cache_root() -> Path:
    """`$XDG_CACHE_HOME/declos`, else `~/.cache/declos` (the user's cache directory)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "declos"


@dataclass(frozen=True)
class ImageRecipe:
    """Everything that decides the bytes of the base image; its hash is the cache key."""

    suite: str = "bookworm"
    arch: str = "amd64"
    packages: tuple[str, ...] = BASE_PACKAGES
    extra_packages: tuple[str, ...] = ()
    size_mib: int = 4096

    def all_packages(self) -> list[str]:
        return sorted(set(self.packages) | set(self.extra_packages))

    def sources(self) -> str:
        """The host's apt sources for this suite (the only mirror we may use)."""
        return host_apt_sources(self.suite)

    def key_material(self) -> dict[str, object]:
        return {
            "recipe_version": RECIPE_VERSION,
            "suite": self.suite,
            "arch": self.arch,
            "packages": self.all_packages(),
            "size_mib": self.size_mib,
            "sources_sha256": hashlib.sha256(self.sources().encode()).hexdigest(),
            "guest_files": {
                p: hashlib.sha256(c.encode()).hexdigest()
                for p, (c, _m) in sorted(guest_files.base_files().items())
            },
            "guest_commands": list(guest_files.BASE_CHROOT_COMMANDS),
            "mmdebstrap": _tool_version(["mmdebstrap", "--version"]),
        }

    def key(self) -> str:
        blob = json.dumps(self.key_material(), sort_keys=True).encode()
        return f"debian-{self.suite}-{self.arch}-" + hashlib.sha256(blob).hexdigest()[:20]


@dataclass(frozen=True)
class BaseImage:
    """A complete cache entry: what a VM needs to boot."""

    directory: Path
    disk: Path
    kernel: Path
    initrd: Path
    key: str
    manifest: dict[str, object] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path) -> BaseImage:
        manifest = json.loads((directory / "manifest.json").read_text())
        return cls(
            directory=directory,
            disk=directory / "root.qcow2",
            kernel=directory / "vmlinuz",
            initrd=directory / "initrd.img",
            key=str(manifest["key"]),
            manifest=manifest,
        )


def host_apt_sources(suite: str) -> str:
    """deb822 stanzas of the host's enabled apt sources that serve `suite`.

    mmdebstrap pastes this into the guest; taking it from the machine's own apt
    configuration is how the build finds the mirror without naming one.
    """
    stanzas: list[str] = []
    apt_dir = Path("/etc/apt")
    for path in sorted([apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]):
        if not path.is_file():
            continue
        text = path.read_text()
        if path.suffix == ".sources":
            for stanza in text.split("\n\n"):
                fields = _deb822_fields(stanza)
                suites = fields.get("Suites", "").split()
                if "deb" in fields.get("Types", "").split() and any(
                    s == suite or s.startswith(suite + "-") for s in suites
                ):
                    stanzas.append(_deb822_render(fields))
        elif path.suffix == ".list" or path.name == "sources.list":
            for line in text.splitlines():
                words = line.split("#", 1)[0].split()
                if (
                    len(words) >= 4
                    and words[0] == "deb"
                    and (words[2] == suite or words[2].startswith(suite + "-"))
                ):
                    stanzas.append(
                        f"Types: deb\nURIs: {words[1]}\nSuites: {words[2]}\n"
                        f"Components: {' '.join(words[3:])}\n"
                    )
    if not stanzas:
        raise VirtError(
            f"no enabled apt source for Debian '{suite}' in /etc/apt: the guest "
            f"image is built from the host's mirror; add a {suite} source"
        )
    return "\n".join(stanzas)


def _deb822_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or line[0].isspace():
            continue
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


def _deb822_render(fields: dict[str, str]) -> str:
    keep = ("Types", "URIs", "Suites", "Components", "Signed-By")
    return "".join(f"{k}: {fields[k]}\n" for k in keep if k in fields)


def _tool_version(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
    except FileNotFoundError:
        return "missing"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def find_cached(recipe: ImageRecipe, cache: Path | None = None) -> BaseImage | None:
    """The complete cache entry for `recipe`, or None.

    Complete means KEY/manifest.json exists: the build writes it last, inside a temporary
    directory that is renamed to KEY in one step, so partial builds are never found.
    """
    final = (cache or cache_root()) / "images" / recipe.key()
    if (final / "manifest.json").is_file():
        return BaseImage.load(final)
    return None


def ensure_image(
    recipe: ImageRecipe | None = None,
    *,
    cache: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> BaseImage:
    """Return the cached image for `recipe`, building it first if it is not there."""
    recipe = recipe or ImageRecipe()
    found = find_cached(recipe, cache)
    if found is not None:
        return found
    images = (cache or cache_root()) / "images"
    with _locked(images / f"{recipe.key()}.lock"):
        found = find_cached(recipe, cache)
        if found is not None:
            return found
        return _build(recipe, images, recipe.key(), log or (lambda _msg: None))


def _build(recipe: ImageRecipe, images: Path, key: str, log: Callable[[str], None]) -> BaseImage:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-", dir=images))
    try:
        rootfs = work / "rootfs"
        overlay = work / "overlay"
        for rel, (content, mode) in guest_files.base_files().items():
            target = overlay / rel.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            target.chmod(mode)
        sources = work / "sources.sources"
        sources.write_text(recipe.sources())
        hooks = [f'--customize-hook=sync-in "{overlay}" /']
        hooks += [
            f"--customize-hook=chroot \"$1\" sh -euc '{cmd}'"
            for cmd in guest_files.BASE_CHROOT_COMMANDS
        ]
        argv = [
            "mmdebstrap",
            "--variant=apt",
            "--mode=root",
            "--format=directory",
            f"--architectures={recipe.arch}",
            "--include=" + ",".join(recipe.all_packages()),
            *hooks,
            recipe.suite,
            str(rootfs),
            str(sources),
        ]
        log(f"image: mmdebstrap {recipe.suite} -> {rootfs}")
        _run(argv, work / "mmdebstrap.log")
        out = work / "out"
        out.mkdir()
        boot = rootfs / "boot"
        kernels = sorted(boot.glob("vmlinuz-*"))
        initrds = sorted(boot.glob("initrd.img-*"))
        if not kernels or not initrds:
            raise VirtError(f"image build: no kernel/initrd in {boot} (see {work}/mmdebstrap.log)")
        shutil.copy2(kernels[-1], out / "vmlinuz")
        shutil.copy2(initrds[-1], out / "initrd.img")
        raw = work / "root.raw"
        log("image: mkfs.ext4 -d")
        _run(
            [
                "mkfs.ext4",
                "-q",
                "-F",
                "-L",
                ROOT_LABEL,
                "-d",
                str(rootfs),
                "-E",
                "root_owner=0:0",
                str(raw),
                f"{recipe.size_mib}M",
            ],
            work / "mkfs.log",
        )
        _run(
            ["qemu-img", "convert", "-O", "qcow2", str(raw), str(out / "root.qcow2")],
            work / "convert.log",
        )
        raw.unlink()
        manifest = {
            "key": key,
            "recipe": recipe.key_material(),
            "kernel_version": kernels[-1].name.removeprefix("vmlinuz-"),
            "root_label": ROOT_LABEL,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.monotonic() - started, 1),
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for path in out.iterdir():
            path.chmod(
                0o444
                if path.suffix in (".qcow2", ".json") or path.name in ("vmlinuz", "initrd.img")
                else 0o644
            )
        final = images / key
        os.rename(out, final)
        log(f"image: built {final} in {manifest['build_seconds']} s")
        return BaseImage.load(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(argv: list[str], logfile: Path) -> None:
    with open(logfile, "w") as fh:
        proc = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = "\n".join(logfile.read_text(errors="replace").splitlines()[-25:])
        raise VirtError(f"image build step failed (exit {proc.returncode}): {argv[0]}\n{tail}")
