"""Reading the archive: verified InRelease files and the Packages indices they vouch for.

Chain of trust as apt's: `gpgv` checks InRelease against the source's keyring (the
signed text gpgv outputs is the only text read), InRelease's SHA256 list vouches for
`Packages.xz`, and each Packages stanza's SHA256 vouches for a `.deb`. Downloads are
cached under ~/.cache/declos by content hash, so a second `declos lock` or a build on the
same machine reads the disk, and parsed indices are cached (marshal) by the same hash.
"""

from __future__ import annotations

import hashlib
import lzma
import marshal
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path

from declos.pkgs.debian.errors import DebianError
from declos.pkgs.debian.sources import AptSource

# Fields kept from each Packages stanza, in the order of a Record tuple.
FIELDS = (
    "Package",
    "Version",
    "Architecture",
    "Filename",
    "Size",
    "SHA256",
    "Depends",
    "Pre-Depends",
    "Provides",
    "Recommends",
    "Essential",
    "Multi-Arch",
)
_FIELD_INDEX = {f: i for i, f in enumerate(FIELDS)}
_CACHE_FORMAT = 1


def cache_dir() -> Path:
    """~/.cache/declos (DECLOS_CACHE_DIR overrides): downloads shared by every run."""
    env = os.environ.get("DECLOS_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "declos"


@dataclass
class Release:
    """A verified InRelease: its hash, date, and the SHA256 of every index file it lists."""

    suite: str
    codename: str
    date: str
    valid_until: str
    sha256: str
    by_hash: bool
    files: dict[str, tuple[str, int]] = field(default_factory=dict)

    def index_hash(self, component: str, arch: str, ext: str = ".xz") -> tuple[str, int]:
        name = f"{component}/binary-{arch}/Packages{ext}"
        if name not in self.files:
            raise DebianError(f"{self.suite}: InRelease does not list {name}")
        return self.files[name]


def download(url: str, timeout: float = 60) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            data: bytes = resp.read()
            return data
    except (urllib.error.URLError, OSError) as exc:
        raise DebianError(f"cannot download {url}: {exc}") from None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def verify_inrelease(data: bytes, keyring: str, where: str) -> bytes:
    """The signed text of an InRelease, if gpgv accepts its signature with `keyring`."""
    if not os.path.isfile(keyring):
        raise DebianError(
            f"{where}: keyring {keyring} does not exist (install debian-archive-keyring)"
        )
    with tempfile.TemporaryDirectory(prefix="declos-gpgv-") as tmp:
        src = os.path.join(tmp, "InRelease")
        with open(src, "wb") as f:
            f.write(data)
        proc = subprocess.run(
            ["gpgv", "--keyring", keyring, "--output", "-", src],
            capture_output=True,
            env={"PATH": "/usr/bin:/bin", "GNUPGHOME": tmp, "LC_ALL": "C"},
        )
    if proc.returncode != 0:
        raise DebianError(
            f"{where}: the signature of InRelease does not verify against {keyring}:\n"
            + proc.stderr.decode(errors="replace").strip()
        )
    return proc.stdout


def parse_release(text: str, sha: str, where: str) -> Release:
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, int]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith(" "):
            if section == "SHA256":
                parts = line.split()
                if len(parts) == 3:
                    files[parts[2]] = (parts[0], int(parts[1]))
            continue
        key, _, value = line.partition(":")
        section = key
        fields[key] = value.strip()
    if not files:
        raise DebianError(f"{where}: InRelease has no SHA256 file list")
    return Release(
        suite=fields.get("Suite", ""),
        codename=fields.get("Codename", ""),
        date=fields.get("Date", ""),
        valid_until=fields.get("Valid-Until", ""),
        sha256=sha,
        by_hash=fields.get("Acquire-By-Hash", "no") == "yes",
        files=files,
    )


def fetch_release(source: AptSource, *, now: float | None = None) -> Release:
    """Download and verify `dists/SUITE/InRelease` of one source (always fresh)."""
    where = f"suite {source.suite}"
    data = download(f"{source.uri}/dists/{source.suite}/InRelease")
    text = verify_inrelease(data, source.keyring, where).decode("utf-8", errors="replace")
    sha = hashlib.sha256(data).hexdigest()
    atomic_write_bytes(cache_dir() / "debian-index" / f"InRelease-{sha}", data)
    release = parse_release(text, sha, where)
    if release.valid_until:
        until = parsedate_to_datetime(release.valid_until).timestamp()
        if until < (now if now is not None else time.time()):
            raise DebianError(
                f"{where}: InRelease expired at {release.valid_until} (a replayed or stale mirror?)"
            )
    return release


def cached_release(sha: str, keyring: str, suite: str) -> Release:
    """A release read back from the cache by the hash a lock recorded (verified again)."""
    path = cache_dir() / "debian-index" / f"InRelease-{sha}"
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha:
        raise DebianError(f"{path}: cached InRelease does not match its hash")
    text = verify_inrelease(data, keyring, f"suite {suite}").decode("utf-8", errors="replace")
    return parse_release(text, sha, f"suite {suite}")


def load_packages(
    source: AptSource, release: Release, component: str, arch: str
) -> list[tuple[str, ...]]:
    """Every stanza of one Packages index as a Record tuple (see FIELDS); cached by hash."""
    sha, size = release.index_hash(component, arch)
    parsed = cache_dir() / "debian-index" / f"parsed-{_CACHE_FORMAT}-{sha}.marshal"
    try:
        with open(parsed, "rb") as f:
            records: list[tuple[str, ...]] = marshal.load(f)
            return records
    except (OSError, EOFError, ValueError, TypeError):
        pass
    raw = _packages_xz(source, release, component, arch, sha, size)
    records = parse_packages(lzma.decompress(raw).decode("utf-8", errors="replace"))
    parsed.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(parsed, marshal.dumps(records))
    return records


def _packages_xz(
    source: AptSource, release: Release, component: str, arch: str, sha: str, size: int
) -> bytes:
    cached = cache_dir() / "debian-index" / f"Packages-{sha}.xz"
    if cached.is_file():
        data = cached.read_bytes()
        if hashlib.sha256(data).hexdigest() == sha:
            return data
    base = f"{source.uri}/dists/{source.suite}/{component}/binary-{arch}"
    url = f"{base}/by-hash/SHA256/{sha}" if release.by_hash else f"{base}/Packages.xz"
    data = download(url, timeout=300)
    got = hashlib.sha256(data).hexdigest()
    if got != sha or len(data) != size:
        raise DebianError(
            f"{url}: SHA256 {got} ({len(data)} bytes) does not match InRelease's {sha} ({size} bytes)"
        )
    atomic_write_bytes(cached, data)
    return data


def parse_packages(text: str) -> list[tuple[str, ...]]:
    """A Packages file -> Record tuples; only FIELDS are kept, continuation lines skipped."""
    out: list[tuple[str, ...]] = []
    index = _FIELD_INDEX
    width = len(FIELDS)
    for stanza in text.split("\n\n"):
        rec = [""] * width
        for line in stanza.split("\n"):
            if not line or line[0] == " ":
                continue
            key, sep, value = line.partition(": ")
            i = index.get(key)
            if i is not None:
                rec[i] = value
        if rec[0]:
            out.append(tuple(rec))
    return out
