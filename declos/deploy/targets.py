"""Where each machine is (its `deployment.*` values) and which machines a command selects.

Selection follows colmena and NixOps: `--on` takes comma-separated rules, each a glob on
the machine name or `@tag` (a glob on `deployment.tags`), OR'ed; `--include` and
`--exclude` take machine names (globs too). A rule or name that matches nothing is an
error, so a typo never deploys to nothing silently.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from declos.deploy.errors import SelectionError


@dataclass(frozen=True)
class KeySpec:
    """One `deployment.keys.<name>`: where its content comes from and where it goes.

    The content itself is never held here; it is read from `text`/`keyFile`/`keyCommand`
    only at upload time (`declos.deploy.keys`)."""

    name: str
    dest_dir: str
    file_name: str
    user: str
    group: str
    permissions: str
    upload_at: str
    has_text: bool
    key_file: str | None
    key_command: tuple[str, ...] | None

    @property
    def path(self) -> str:
        return f"{self.dest_dir.rstrip('/')}/{self.file_name}"


@dataclass(frozen=True)
class HealthCheck:
    kind: str  # "cmd" or "http"
    description: str
    period: int
    timeout: int
    retries: int
    cmd: tuple[str, ...] = ()
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    insecure: bool = False


@dataclass(frozen=True)
class MachineTarget:
    """A machine's `deployment.*` values, as the pipeline needs them."""

    name: str
    target_env: str
    host: str
    port: int
    user: str
    key_file: str | None
    tags: tuple[str, ...]
    always_activate: bool
    magic_rollback: bool
    confirm_timeout: int
    activation_timeout: int
    keys: tuple[KeySpec, ...] = ()
    health_checks: tuple[HealthCheck, ...] = field(default=())

    @property
    def address(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def target_of(name: str, d: Mapping[str, Any]) -> MachineTarget:
    """From the value of `deployment` of machine `name`."""
    host = d.get("targetHost") or name
    keys = tuple(_key(k, v) for k, v in sorted((d.get("keys") or {}).items()))
    checks = [_cmd_check(c) for c in (d.get("healthChecks") or {}).get("cmd") or []]
    checks += [_http_check(c, host) for c in (d.get("healthChecks") or {}).get("http") or []]
    return MachineTarget(
        name=name,
        target_env=str(d.get("targetEnv", "none")),
        host=str(host),
        port=int(d.get("targetPort", 22)),
        user=str(d.get("targetUser", "root")),
        key_file=d.get("sshKeyFile"),
        tags=tuple(d.get("tags") or ()),
        always_activate=bool(d.get("alwaysActivate", False)),
        magic_rollback=bool(d.get("magicRollback", True)),
        confirm_timeout=int(d.get("confirmTimeout", 30)),
        activation_timeout=int(d.get("activationTimeout", 600)),
        keys=keys,
        health_checks=tuple(checks),
    )


def _key(name: str, k: Mapping[str, Any]) -> KeySpec:
    command = k.get("keyCommand")
    return KeySpec(
        name=name,
        dest_dir=str(k.get("destDir", "/run/keys")),
        file_name=str(k.get("name") or name),
        user=str(k.get("user", "root")),
        group=str(k.get("group", "root")),
        permissions=str(k.get("permissions", "0600")),
        upload_at=str(k.get("uploadAt", "pre-activation")),
        has_text=k.get("text") is not None,
        key_file=k.get("keyFile"),
        key_command=tuple(command) if command else None,
    )


def _cmd_check(c: Mapping[str, Any]) -> HealthCheck:
    return HealthCheck(
        "cmd",
        str(c.get("description") or " ".join(c["cmd"])),
        int(c.get("period", 2)),
        int(c.get("timeout", 5)),
        int(c.get("retries", 3)),
        cmd=tuple(c["cmd"]),
    )


def _http_check(c: Mapping[str, Any], default_host: str) -> HealthCheck:
    url = f"{c.get('scheme', 'http')}://{c.get('host') or default_host}:{c.get('port', 80)}{c.get('path', '/')}"
    return HealthCheck(
        "http",
        str(c.get("description") or f"GET {url}"),
        int(c.get("period", 2)),
        int(c.get("timeout", 5)),
        int(c.get("retries", 3)),
        url=url,
        headers=tuple(sorted((c.get("headers") or {}).items())),
        insecure=bool(c.get("insecureSSL", False)),
    )


def select(
    names: Sequence[str],
    tags: Mapping[str, Sequence[str]],
    *,
    on: str | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[str]:
    """The machines selected, in name order; SelectionError when a rule matches nothing."""
    chosen = set(names)
    if on:
        chosen = set()
        for rule in (r.strip() for r in on.split(",")):
            if not rule:
                continue
            hits = _match_rule(rule, names, tags)
            if not hits:
                raise SelectionError(
                    f"--on: {rule!r} matches no machine (machines: {', '.join(sorted(names))})"
                )
            chosen |= hits
    if include:
        wanted: set[str] = set()
        for pattern in include:
            hits = set(fnmatch.filter(names, pattern))
            if not hits:
                raise SelectionError(f"--include: no machine named {pattern!r}")
            wanted |= hits
        chosen &= wanted
    for pattern in exclude:
        hits = set(fnmatch.filter(names, pattern))
        if not hits:
            raise SelectionError(f"--exclude: no machine named {pattern!r}")
        chosen -= hits
    if not chosen:
        raise SelectionError("the selection is empty: no machine to act on")
    return sorted(chosen)


def _match_rule(rule: str, names: Sequence[str], tags: Mapping[str, Sequence[str]]) -> set[str]:
    if rule.startswith("@"):
        pattern = rule[1:]
        return {n for n in names if any(fnmatch.fnmatchcase(t, pattern) for t in tags.get(n, ()))}
    return set(fnmatch.filter(names, rule))
