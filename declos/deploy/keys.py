"""Uploading `deployment.keys`: secrets go from their source to the target over SSH only.

The content is read at upload time (`text` from the evaluated config, `keyFile` from the
deployer's disk, `keyCommand`'s standard output) and handed to `Host.put`, which streams
it on the SSH channel's stdin into a temp file beside the destination, sets owner and
mode, and renames it into place: it never appears in an argv (the process list), the
store, the state database or a log line.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from declos.deploy.errors import DeployError
from declos.deploy.targets import KeySpec


class KeySourceError(DeployError):
    """A key's source cannot be read (file missing, command failed)."""


def content(spec: KeySpec, text: str | None) -> bytes:
    """The key's bytes from exactly one source (text, keyFile, keyCommand)."""
    sources = [s for s in (spec.has_text, spec.key_file, spec.key_command) if s]
    if len(sources) != 1:
        raise KeySourceError(
            f"deployment.keys.{spec.name}: set exactly one of text, keyFile, keyCommand "
            f"(found {len(sources)})"
        )
    if spec.has_text:
        return (text or "").encode()
    if spec.key_file:
        try:
            with open(spec.key_file, "rb") as f:
                return f.read()
        except OSError as exc:
            raise KeySourceError(
                f"deployment.keys.{spec.name}.keyFile: cannot read {spec.key_file}: {exc.strerror}"
            ) from None
    assert spec.key_command is not None
    proc = subprocess.run(list(spec.key_command), capture_output=True)
    if proc.returncode != 0:
        raise KeySourceError(
            f"deployment.keys.{spec.name}.keyCommand exited with {proc.returncode} "
            "(its output is not shown: it may be secret)"
        )
    return proc.stdout


def upload(
    host: Any,
    specs: Sequence[KeySpec],
    texts: Mapping[str, str | None],
    when: str,
    log: Callable[[str], None],
) -> int:
    """Upload the keys whose `uploadAt` is `when`; returns how many were sent."""
    sent = 0
    for spec in specs:
        if spec.upload_at != when:
            continue
        data = content(spec, texts.get(spec.name))
        host.run(["install", "-d", "-m", "0750", spec.dest_dir])
        host.put(
            data,
            spec.path,
            mode=int(spec.permissions, 8),
            owner=spec.user,
            group=spec.group,
        )
        log(
            f"uploaded key {spec.name} to {spec.path} ({spec.user}:{spec.group} {spec.permissions})"
        )
        sent += 1
    return sent
