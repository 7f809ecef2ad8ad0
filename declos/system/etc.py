"""`environment.etc` -> the closure's etc/ tree and its system.json "etc" entries.

As NixOS's etc.nix: `text` becomes a store file named `etc-<name with / as ->`, `source`
outside the store is copied in, mode "symlink" links to the store file while an octal
mode asks the activator to copy it with that mode/owner. Two entries with one target
must agree, as NixOS's make-etc.sh insists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from declos.common.closure_schema import EtcEntry
from declos.system.errors import RenderError
from declos.system.writer import Writer

_MODE = re.compile(r"^(symlink|direct-symlink|0?[0-7]{3,4})$")


class EtcError(RenderError):
    """An environment.etc entry that cannot be built; the message names the entry."""


def normalise_target(target: str, where: str, name: str = "") -> str:
    parts = [p for p in target.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise EtcError(
            f"{where}: target {target!r} must be a relative path below /etc without '..'",
            ("environment", "etc", name, "target"),
        )
    return "/".join(parts)


PROGRESS_EVERY = 2000


def store_name(name: str) -> str:
    """NixOS names a `text` entry's file "etc-" + name with '/' replaced by '-'."""
    cleaned = re.sub(r"[^0-9a-zA-Z+\-._?=]", "_", name.replace("/", "-"))
    return "etc-" + cleaned.lstrip(".")


def render_etc(
    writer: Writer,
    etc: Mapping[str, Mapping[str, Any]],
    add_file: Callable[[str], str],
    progress: Callable[[str], None] | None = None,
) -> list[EtcEntry]:
    """Entries sorted by target; `add_file(path)` puts a non-store `source` into the store.
    `progress` hears a line every PROGRESS_EVERY entries (a large /etc takes minutes)."""
    by_target: dict[str, EtcEntry] = {}
    names = sorted(etc)
    for index, name in enumerate(names, 1):
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress(f"environment.etc: {index} of {len(names)} entries")
        definition = etc[name]
        if not definition["enable"]:
            continue
        entry = _entry(writer, name, definition, add_file)
        previous = by_target.get(entry.target)
        if previous is not None and previous != entry:
            raise EtcError(
                f'environment.etc."{name}": target /etc/{entry.target} is also defined by another '
                f"environment.etc entry with a different source or mode "
                f"({previous.source} vs {entry.source})",
                ("environment", "etc", name),
            )
        by_target[entry.target] = entry
    return [by_target[t] for t in sorted(by_target)]


def _entry(
    writer: Writer, name: str, definition: Mapping[str, Any], add_file: Callable[[str], str]
) -> EtcEntry:
    where = f'environment.etc."{name}"'
    option = ("environment", "etc", name)
    target = normalise_target(definition["target"], where, name)
    text, source = definition["text"], definition["source"]
    if text is not None:
        content = writer.text(store_name(name), str(text))
    elif source:
        content = str(source)
        if not content.startswith(writer.store_dir + "/"):
            content = add_file(content)
    else:
        raise EtcError(f"{where}: set either `text` or `source`", option)
    mode = str(definition["mode"])
    if not _MODE.match(mode):
        raise EtcError(
            f'{where}: mode {mode!r} must be "symlink" or an octal mode like "0644"', option
        )
    if mode == "direct-symlink":
        mode = "symlink"
    elif mode != "symlink" and mode[0] != "0":
        mode = "0" + mode
    return EtcEntry(
        target=target,
        source=content,
        mode=mode,
        user=str(definition["user"]),
        group=str(definition["group"]),
        replace_existing=bool(definition["replaceExisting"]),
    )
