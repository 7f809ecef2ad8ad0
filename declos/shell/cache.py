"""The cache that makes entering an unchanged `declos shell` instant (stdlib only).

A cache hit imports this module and nothing of the library, so it stays light: no
dataclasses (which imports inspect), no tempfile, no pathlib.

Two levels, because the files an evaluation reads are known only after it ran (a
shell.py may import helpers and open files, see reads.py):
1. `ARGS.files` (ARGS: sha256 over the format, the declos version and the arguments
   that change the result) lists the files the last evaluation with these arguments
   read;
2. `KEY.json` (KEY: sha256 over ARGS and each listed file's name and content, or for
   a listed directory `DIR/` its sorted entry names; an absent file hashes as absent) holds the finished variables, the shell hook, the
   profile and the files. It is used only while that profile still exists (a GC root
   under `.declos/gcroots/` keeps it).
Editing any listed file changes KEY: a miss, which evaluates and rewrites both.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence

CACHE_DIR = ".declos/shell"
FORMAT = 3


class ShellEnv:
    """What entering a shell needs: variables to set, hook to run, the profile it relies
    on, and the files its evaluation read (the direnv hook watches them)."""

    __slots__ = ("variables", "shell_hook", "profile", "files")

    def __init__(
        self,
        variables: dict[str, str],
        shell_hook: str = "",
        profile: str = "",
        files: Sequence[str] = (),
    ) -> None:
        self.variables = variables
        self.shell_hook = shell_hook
        self.profile = profile
        self.files = tuple(files)

    def as_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "variables": self.variables,
            "shell_hook": self.shell_hook,
            "profile": self.profile,
            "files": list(self.files),
        }


def args_key(version: str, args: Sequence[str]) -> str:
    """sha256 over the format, the version and the arguments that change the result."""
    h = hashlib.sha256(f"declos-shell-{FORMAT}\0{version}\0".encode())
    for a in args:
        h.update(a.encode() + b"\0")
    return h.hexdigest()


def content_key(args: str, files: Sequence[str]) -> str:
    """sha256 over the arguments' key and each file's name and content."""
    h = hashlib.sha256(args.encode() + b"\0")
    for path in sorted(set(files)):
        h.update(path.encode() + b"\0")
        if path.endswith(os.sep):  # a listing: the sorted entry names
            try:
                names = sorted(os.listdir(path))
            except FileNotFoundError:
                h.update(b"absent")
            except NotADirectoryError:
                h.update(b"file")
            else:
                h.update(hashlib.sha256("\0".join(names).encode(errors="surrogateescape")).digest())
            continue
        try:
            with open(path, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
        except FileNotFoundError:
            h.update(b"absent")
        except IsADirectoryError:
            h.update(b"directory")
    return h.hexdigest()


def lookup(project: str, args: str) -> tuple[str, ShellEnv | None]:
    """(KEY for the files the last evaluation read, the entry if usable). Without an
    index, KEY is "" and the entry None."""
    directory = os.path.join(project, CACHE_DIR)
    files = _read_json(os.path.join(directory, args + ".files"))
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return "", None
    key = content_key(args, files)
    return key, _entry(_read_json(os.path.join(directory, key + ".json")))


def _read_json(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _entry(data: object) -> ShellEnv | None:
    """The entry if well-formed and its profile still exists (a GC may have taken it)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    variables, hook, profile, files = (
        data.get("variables"),
        data.get("shell_hook"),
        data.get("profile"),
        data.get("files"),
    )
    if not (
        isinstance(variables, dict)
        and isinstance(hook, str)
        and isinstance(profile, str)
        and isinstance(files, list)
    ):
        return None
    if profile and not os.path.exists(profile):
        return None
    return ShellEnv({str(k): str(v) for k, v in variables.items()}, hook, profile, files)


def save(project: str, args: str, env: ShellEnv) -> str:
    """Write the entry and the index atomically (a concurrent reader sees the old pair
    or this one); the KEY the entry was written under."""
    directory = os.path.join(project, CACHE_DIR)
    os.makedirs(directory, exist_ok=True)
    key = content_key(args, env.files)
    _write(os.path.join(directory, key + ".json"), env.as_json())
    _write(os.path.join(directory, args + ".files"), list(env.files))
    return key


def _write(path: str, data: object) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


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
