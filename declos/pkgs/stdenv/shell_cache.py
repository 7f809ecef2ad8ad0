"""The cache that makes entering an unchanged `declos shell` instant (stdlib only).

The key hashes every input of the evaluation: the declos version, the arguments that
change the result, and the bytes of every file the evaluation read (the shell file,
declos.lock, pylock.toml). The entry holds the finished variables, the shell hook and
the profile; it is used only while that profile still exists (a GC root under
`.declos/gcroots/` keeps it).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

CACHE_DIR = ".declos/shell"
FORMAT = 1


@dataclass(frozen=True)
class ShellEnv:
    """What entering a shell needs: variables to set, hook to run, profile it relies on."""

    variables: dict[str, str]
    shell_hook: str = ""
    profile: str = ""
    files: tuple[str, ...] = field(default=())  # the files the evaluation read


def cache_key(version: str, args: Sequence[str], files: Sequence[str]) -> str:
    """sha256 over the version, the arguments and each file's name and content."""
    h = hashlib.sha256(f"declos-shell-{FORMAT}\0{version}\0".encode())
    for a in args:
        h.update(a.encode() + b"\0")
    for path in sorted(set(files)):
        h.update(path.encode() + b"\0")
        try:
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
        except FileNotFoundError:
            h.update(b"absent")
    return h.hexdigest()


def load(project: str, key: str) -> ShellEnv | None:
    """The cached shell for `key`, if present, well-formed and its profile still exists."""
    path = os.path.join(project, CACHE_DIR, key + ".json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    env = ShellEnv(
        {str(k): str(v) for k, v in data["variables"].items()},
        str(data["shell_hook"]),
        str(data["profile"]),
        tuple(data["files"]),
    )
    if env.profile and not os.path.exists(env.profile):
        return None
    return env


def save(project: str, key: str, env: ShellEnv) -> None:
    """Write the entry atomically (a concurrent reader sees the old one or this one)."""
    directory = os.path.join(project, CACHE_DIR)
    os.makedirs(directory, exist_ok=True)
    data = {"format": FORMAT, **asdict(env)}
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(directory, key + ".json"))


# nix-shell --pure keeps exactly these (nix-build.cc), plus the proxies and --keep NAMEs.
PURE_KEEP = (
    "HOME",
    "XDG_RUNTIME_DIR",
    "USER",
    "LOGNAME",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "WAYLAND_SOCKET",
    "PATH",
    "TERM",
    "IN_NIX_SHELL",
    "NIX_SHELL_PRESERVE_PROMPT",
    "TZ",
    "PAGER",
    "NIX_BUILD_SHELL",
    "SHLVL",
    "http_proxy",
    "https_proxy",
    "ftp_proxy",
    "all_proxy",
    "no_proxy",
)
HOST_PATH = "/usr/local/bin:/usr/bin:/bin"


def environment(
    shell: ShellEnv, caller: Mapping[str, str], *, pure: bool, keep: Sequence[str] = ()
) -> dict[str, str]:
    """The environment the shell starts with: the caller's (or, pure, only nix-shell's
    kept names), then the shell's variables; PATH is the profile's bin first, then the
    caller's PATH (pure: the host's /usr/local/bin:/usr/bin:/bin, as the build sandbox
    sees the host's /usr)."""
    if pure:
        base = {k: v for k, v in caller.items() if k in PURE_KEEP or k in keep}
    else:
        base = dict(caller)
    env = {**base, **shell.variables}
    tail = HOST_PATH if pure else caller.get("PATH", HOST_PATH)
    env["PATH"] = shell.variables["PATH"] + (":" + tail if tail else "")
    env["IN_DECLOS_SHELL"] = "pure" if pure else "impure"
    return env
