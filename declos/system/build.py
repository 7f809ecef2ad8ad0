"""Evaluated configuration -> system closure: the public entry point of declos.system.

`build_system` evaluates the config, refuses failed assertions before anything is built,
renders every part (units, etc, firewall, users, mounts, boot, activation snippets) into
the store and assembles TOP. Everything is content addressed, so an unchanged config
adds nothing: each renderer finds its store path already valid.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from declos.system.activation_scripts import render_activation_scripts
from declos.system.activator import build_activator
from declos.system.boot import render_boot
from declos.system.etc import profile_script, render_etc
from declos.system.filesystems import render_filesystems, render_swaps
from declos.system.firewall import check_ruleset, render_ruleset
from declos.system.httpd import wire_httpd
from declos.system.inputs import realise_inputs
from declos.system.locate import definition_sites
from declos.system.memo import Memo
from declos.system.openssh import wire_openssh
from declos.system.services import render_systemd
from declos.system.sw import sw_derivation
from declos.system.toplevel import SystemSpec, assemble
from declos.system.users import authorized_keys, render_users
from declos.system.writer import StoreWriter

# The option subtrees the builder reads; each is fetched once from the evaluation.
OPTION_PATHS: tuple[str, ...] = (
    "networking.hostName",
    "time.timeZone",
    "environment.etc",
    "environment.systemPackages",
    "environment.variables",
    "users.users",
    "users.groups",
    "systemd.services",
    "systemd.timers",
    "systemd.sockets",
    "systemd.tmpfiles.rules",
    "networking.firewall",
    "fileSystems",
    "swapDevices",
    "boot.loader.grub",
    "boot.kernelParams",
    "services.openssh",
    "services.httpd",
    "system.activationScripts",
    "assertions",
    "warnings",
)


class SystemBuildError(Exception):
    """The configuration cannot be built; the message says which option, where, and why."""

    def __init__(self, message: str, path: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.path: tuple[str, ...] = tuple(path)


@dataclass
class BuildResult:
    path: str
    warnings: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)


def check_assertions(values: Mapping[str, Any]) -> list[str]:
    """NixOS semantics: any failed assertion aborts with all messages; warnings are returned."""
    failed = [
        str(a.get("message", ""))
        for a in values.get("assertions") or []
        if not a.get("assertion", True)
    ]
    if failed:
        raise SystemBuildError("Failed assertions:\n" + "\n".join(f"- {m}" for m in failed))
    return [str(w) for w in values.get("warnings") or []]


def build_from_values(
    store: Any, values: Mapping[str, Any], *, config_json: str = "{}\n", check_firewall: bool = True
) -> BuildResult:
    """Build TOP from option values keyed by dotted path (the shape `ev.value()` returns)."""
    warnings = check_assertions(values)
    memo = Memo(store)
    writer = StoreWriter(store, memo)
    get = values.get
    # The activator copy is independent of everything else and runs beside it (the
    # store's database is thread-safe); packages and every other path the config
    # mentions are realised in one parallel `realise` before text refers to them.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="declos-activator") as pool:
        activator_job = pool.submit(build_activator, store)
        sw_drv = sw_derivation(store, list(get("environment.systemPackages") or []))
        realise_inputs(store, dict(values), extra=[sw_drv])
        return _render(
            store,
            writer,
            values,
            warnings,
            config_json,
            check_firewall,
            sw_drv.out_path,
            activator_job,
        )


def _render(
    store: Any,
    writer: StoreWriter,
    values: Mapping[str, Any],
    warnings: list[str],
    config_json: str,
    check_firewall: bool,
    sw: str,
    activator_job: Future[str],
) -> BuildResult:
    get = values.get
    try:
        users = render_users(
            {"users": get("users.users") or {}, "groups": get("users.groups") or {}}
        )
        openssh = wire_openssh(writer, get("services.openssh") or {}, authorized_keys(users))
        httpd, httpd_users = wire_httpd(writer, get("services.httpd") or {})
        for kind in ("users", "groups"):
            for name, definition in httpd_users.get(kind, {}).items():
                if name not in users[kind]:
                    extra = render_users({kind: {name: definition}})
                    users[kind][name] = extra[kind][name]

        units = render_systemd(
            writer,
            {
                "services": get("systemd.services") or {},
                "timers": get("systemd.timers") or {},
                "sockets": get("systemd.sockets") or {},
            },
        )
        mount_units, file_systems = render_filesystems(writer, get("fileSystems") or {})
        swap_units, swaps = render_swaps(writer, list(get("swapDevices") or []))
        units += mount_units + swap_units + openssh.units + httpd.units

        firewall_text = render_ruleset(get("networking.firewall") or {}, openssh.tcp_ports)
        if firewall_text is not None and check_firewall:
            _check_firewall_once(store, firewall_text)

        variables = dict(get("environment.variables") or {})
        etc_defs: dict[str, Any] = dict(get("environment.etc") or {})
        for wiring in (openssh, httpd):
            for name, definition in wiring.etc.items():
                etc_defs.setdefault(name, definition)
        etc_defs.setdefault(
            "profile.d/declos.sh",
            {
                "text": profile_script(
                    variables,
                    ["/run/declos/current-system/sw/bin", "/run/declos/current-system/sw/sbin"],
                )
            },
        )
        rules = [str(r) for r in get("systemd.tmpfiles.rules") or []]
        tmpfiles = writer.text("tmpfiles.conf", "\n".join(rules) + "\n") if rules else None
        if tmpfiles:
            etc_defs.setdefault("tmpfiles.d/00-declos.conf", {"source": tmpfiles})
        etc = render_etc(writer, etc_defs, lambda src: str(store.add_path(src)))

        spec = SystemSpec(
            hostname=str(get("networking.hostName") or "declos"),
            time_zone=get("time.timeZone"),
            activator=activator_job.result(),
            sw=sw,
            variables=variables,
            etc=etc,
            units=units,
            users=users,
            firewall=firewall_text,
            file_systems=file_systems,
            swap_devices=swaps,
            boot=render_boot(
                {
                    "loader": {"grub": get("boot.loader.grub") or {}},
                    "kernelParams": get("boot.kernelParams") or [],
                }
            ),
            activation_scripts=render_activation_scripts(
                writer, get("system.activationScripts") or {}
            ),
            tmpfiles=tmpfiles,
            config_json=config_json,
        )
        path = assemble(store, spec, writer.memo)
        if writer.memo is not None:
            writer.memo.save()
    except ValueError as exc:
        raise SystemBuildError(str(exc), getattr(exc, "path", ())) from None
    return BuildResult(path=path, warnings=warnings, added=sorted(writer.added))


def _check_firewall_once(store: Any, text: str) -> None:
    """`nft --check` the ruleset unless this exact text was checked before (it is a store path)."""
    from declos.store.paths import make_text_path

    path = make_text_path("firewall.nft", text.encode(), [], store.store_dir)
    if store.is_valid(path):
        return
    check_ruleset(text)
    store.add_text("firewall.nft", text)


# Option sets read only when their `enable` is true: like NixOS's `mkIf cfg.enable`, a
# disabled service's options without defaults (e.g. httpd.adminAddr) are never forced.
GATED: tuple[str, ...] = ("services.openssh", "services.httpd")


def read_values(ev: Any, paths: Sequence[str] = OPTION_PATHS) -> dict[str, Any]:
    """Option values by dotted path; options the module library does not declare are absent."""
    from declos.config.errors import MissingAttributeError

    values: dict[str, Any] = {}
    for dotted in paths:
        try:
            if dotted in GATED and not ev.value(f"{dotted}.enable"):
                values[dotted] = {"enable": False}
                continue
            values[dotted] = ev.value(dotted)
        except MissingAttributeError:
            continue
    return values


def build_system(
    config_files: Sequence[str],
    *,
    store: Any = None,
    root: str | None = None,
    special_args: Mapping[str, Any] | None = None,
    bare: bool = False,
) -> BuildResult:
    """Evaluate `config_files` and build their system closure; returns TOP and warnings.

    Raises declos.config.EvaluationError for evaluation errors (failed assertions
    included) and SystemBuildError for everything the builder rejects; in both cases
    nothing reaches the store's profiles. `bare` leaves out the standard module library.
    """
    from declos.config import evaluate

    if store is None:
        from declos.store import Store

        store = Store.open(root=root)
    args = dict(special_args or {})
    if "pkgs" not in args:
        args["pkgs"] = _default_pkgs(store)
    ev = evaluate(list(config_files), special_args=args, bare=bare)
    values = read_values(ev)
    config_json = config_json_of(ev)
    try:
        result = build_from_values(store, values, config_json=config_json)
    except SystemBuildError as exc:
        sites = definition_sites(ev, exc.path) if exc.path else []
        if not sites:
            raise
        raise SystemBuildError(f"{exc}\n(defined in {', '.join(sites)})", exc.path) from None
    result.warnings = list(
        dict.fromkeys([*(getattr(ev, "warnings", None) or []), *result.warnings])
    )
    return result


def _default_pkgs(store: Any) -> Any:
    from declos.pkgs import Pkgs

    return Pkgs(store)


def config_json_of(ev: Any) -> str:
    """config.json: the whole evaluated config; options that have no value (no default,
    never defined, e.g. a disabled service's required option) are left out."""
    text = json.dumps(ev.export_json(), indent=2, sort_keys=True, default=str)
    return text + "\n"
