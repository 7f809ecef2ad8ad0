"""Deployment records: the `info` table and `export`/`import` as JSON text.

Export format (version 1), one object per deployment keyed by uuid:
  {"version": 1, "deployments": {UUID: {"name", "created", "files": [{"path",
   "absolute"}], "attrs": {...}, "machines": {NAME: {attr: value}},
   "hostKeys": [{"host", "port", "type", "key"}]  (only with --include-keys)}}}
Host keys are public, but they decide whom the deployer trusts, so they travel only
when asked. No secret is in the state, so none can be exported.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from declos.deploy.backends import live_status
from declos.deploy.errors import StateError
from declos.deploy.state import Deployment, State

EXPORT_VERSION = 1


@dataclass(frozen=True)
class InfoRow:
    machine: str
    status: str
    backend: str
    host: str
    generation: str
    last_deploy: str
    outcome: str

    def to_json(self) -> dict[str, str]:
        return {
            "machine": self.machine,
            "status": self.status,
            "backend": self.backend,
            "host": self.host,
            "generation": self.generation,
            "lastDeploy": self.last_deploy,
            "lastOutcome": self.outcome,
        }


def info_rows(
    state: State, dep: Deployment, network_machines: Mapping[str, Mapping[str, Any]]
) -> list[InfoRow]:
    """One row per machine of the network (and per machine the state still remembers).

    `network_machines` maps a machine to its evaluated `deployment` values ({} when the
    network was not evaluated)."""
    recorded = state.machines(dep)
    rows = []
    for name in sorted(set(recorded) | set(network_machines)):
        a = recorded.get(name, {})
        d = network_machines.get(name, {})
        if name not in network_machines and network_machines:
            status = "obsolete"
        else:
            status = str(a.get("status", "new"))
        host = d.get("targetHost") or a.get("host") or name
        port = d.get("targetPort") or a.get("port") or 22
        env = str(d.get("targetEnv") or a.get("backend") or "none")
        live = live_status(env, a)  # a created VM: the hypervisor's word, its forwarded port
        if live is not None and status != "obsolete":
            status = live
            host, port = a.get("host") or host, a.get("port") or port
        when = a.get("lastDeploy")
        rows.append(
            InfoRow(
                name,
                status,
                env,
                f"{host}:{port}",
                _generation(a.get("generation")),
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)) if when else "-",
                str(a.get("lastOutcome", "-")),
            )
        )
    return rows


def _generation(link: Any) -> str:
    if not link:
        return "-"
    parts = str(link).split("-")
    return parts[-2] if len(parts) >= 3 and parts[-2].isdigit() else str(link)


def export(state: State, deps: Sequence[Deployment], include_keys: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dep in deps:
        entry: dict[str, Any] = {
            "name": dep.name,
            "created": dep.created,
            "files": [{"path": f.path, "absolute": f.absolute} for f in state.files(dep)],
            "attrs": state.attrs(dep),
            "machines": state.machines(dep),
        }
        if include_keys:
            rows = state.rows(
                "select host, port, key_type, key_base64 from host_keys where deployment = ? "
                "order by host, port, key_type",
                (dep.uuid,),
            )
            entry["hostKeys"] = [{"host": h, "port": p, "type": t, "key": k} for h, p, t, k in rows]
        out[dep.uuid] = entry
    return {"version": EXPORT_VERSION, "deployments": out}


def import_(state: State, data: Any, include_keys: bool) -> list[str]:
    """Create the exported deployments (uuids kept); returns their names."""
    if not isinstance(data, dict) or data.get("version") != EXPORT_VERSION:
        raise StateError(
            f'not a declos export (expected an object with "version": {EXPORT_VERSION})'
        )
    names = []
    for uuid, entry in (data.get("deployments") or {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise StateError(f"deployment {uuid!r} in the export has no name")
        _import_one(state, str(uuid), entry, include_keys)
        names.append(entry["name"])
    return names


def _import_one(state: State, uuid: str, entry: dict[str, Any], include_keys: bool) -> None:
    dep = Deployment(uuid, entry["name"], float(entry.get("created", time.time())))
    with state.transaction() as db:
        if db.execute(
            "select 1 from deployments where uuid = ? or name = ?", (uuid, dep.name)
        ).fetchone():
            raise StateError(
                f"deployment {dep.name!r} ({uuid}) exists already; delete it first "
                f"(`declos delete -d {dep.name}`)"
            )
        db.execute("insert into deployments values (?, ?, ?)", (uuid, dep.name, dep.created))
        for i, f in enumerate(entry.get("files") or []):
            db.execute(
                "insert into network_files values (?, ?, ?, ?)",
                (uuid, i, str(f["path"]), str(f.get("absolute", f["path"]))),
            )
    for key, value in (entry.get("attrs") or {}).items():
        state.set_attr(dep, str(key), value)
    for machine, attrs in (entry.get("machines") or {}).items():
        state.update_machine(dep, str(machine), **dict(attrs))
    if include_keys:
        for k in entry.get("hostKeys") or []:
            state.learn_host_key(dep, str(k["host"]), int(k["port"]), str(k["type"]), str(k["key"]))
