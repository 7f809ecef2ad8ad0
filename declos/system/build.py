"""Evaluated configuration -> system closure: the public entry point of declos.system.

`build_system` evaluates the config, refuses failed assertions before anything is built,
renders every generic part (units, etc, firewall, users, mounts, boot, activation
snippets) into the store and assembles TOP. Services are modules: they define units,
/etc entries, users and firewall ports, so the builder never knows a service by name and
never defaults an option (the values it reads are typed and merged). Everything is
content addressed, so an unchanged config adds nothing.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from declos.config import evaluate
from declos.config.errors import MissingAttributeError
from declos.pkgs import Pkgs
from declos.pkgs.debian.lockfile import lock_path_for
from declos.store import Store
from declos.store.derivation import StringContext
from declos.store.paths import make_text_path
from declos.system.activation_scripts import render_activation_scripts
from declos.system.activator import build_activator
from declos.system.boot import render_boot
from declos.system.etc import EtcEntry, render_etc
from declos.system.filesystems import render_filesystems, render_swaps
from declos.system.firewall import check_ruleset, render_ruleset
from declos.system.inputs import realise_inputs
from declos.system.locate import definition_sites
from declos.system.memo import Memo
from declos.system.names import check_names
from declos.system.services import render_systemd
from declos.system.sw import sw_derivation
from declos.system.toplevel import SystemSpec, assemble, candidates
from declos.system.units import Unit
from declos.system.users import render_users
from declos.system.writer import StoreWriter

# The generic option subtrees the builder reads; each is fetched once from the evaluation.
OPTION_PATHS: tuple[str, ...] = (
    "networking.hostName",
    "time.timeZone",
    "environment.etc",
    "environment.variables",
    "system.path",
    "users.users",
    "users.groups",
    "systemd.services",
    "systemd.timers",
    "systemd.sockets",
    "networking.firewall",
    "fileSystems",
    "swapDevices",
    "boot.loader.grub",
    "boot.kernelParams",
    "boot.isContainer",
    "system.activationScripts",
    "assertions",
    "warnings",
)

# The /etc entry the tmpfiles module writes; its store file is what the activator
# applies with `systemd-tmpfiles --create --remove` (system.json "tmpfiles").
TMPFILES_TARGET = "tmpfiles.d/00-declos.conf"


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
    failed = [str(a["message"]) for a in values.get("assertions", []) if not a["assertion"]]
    if failed:
        raise SystemBuildError("Failed assertions:\n" + "\n".join(f"- {m}" for m in failed))
    return [str(w) for w in values.get("warnings", [])]


def build_from_values(
    store: Any,
    values: Mapping[str, Any],
    *,
    config_json: str = "{}\n",
    check_firewall: bool = True,
    context: StringContext | None = None,
    host_requires: Callable[[Callable[[], Iterable[str]]], dict[str, str]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build TOP from option values keyed by dotted path (the shape `ev.value()` returns).

    An option missing from `values` is one the module library does not declare, and its
    part is left out (no units, no etc entries, ...); a present one must be complete.
    `context` is the evaluation's string context (its Pkgs'), through which strings that
    mention package paths make those packages part of the closure. `host_requires`
    maps TOP's closure (a function computing it, called only when needed) to the Debian packages its host must have (system.json
    `hostRequires`, checked by the activator). `progress` hears what a long build is
    doing (a line now and then, for stderr).
    """
    warnings = check_assertions(values)
    try:
        check_names(values)
    except ValueError as exc:
        raise SystemBuildError(str(exc), getattr(exc, "path", ())) from None
    writer = StoreWriter(store, Memo(store))
    # The activator copy is independent of everything else and runs beside it (the
    # store's database is thread-safe); packages and every other path the config
    # mentions are realised in one parallel `realise` before text refers to them.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="declos-activator") as pool:
        activator_job = pool.submit(build_activator, store)
        sw = values.get("system.path")
        extra = [] if sw is not None else [sw_derivation(store, [])]
        realise_inputs(store, dict(values), extra=extra, context=context)
        sw_path = str(sw) if sw is not None else extra[0].out_path
        try:
            spec = _render(
                store, writer, values, config_json, check_firewall, sw_path, warnings, progress
            )
            spec.activator = activator_job.result()
            if host_requires is not None:
                refs = sorted(candidates(spec, store.store_dir))
                spec.host_requires = host_requires(lambda: store.closure(refs))
            path = assemble(store, spec, writer.memo)
        except ValueError as exc:
            raise SystemBuildError(str(exc), getattr(exc, "path", ())) from None
    if writer.memo is not None:
        writer.memo.save()
    return BuildResult(path=path, warnings=warnings, added=sorted(writer.added))


def _render(
    store: Any,
    writer: StoreWriter,
    values: Mapping[str, Any],
    config_json: str,
    check_firewall: bool,
    sw: str,
    warnings: list[str],
    progress: Callable[[str], None] | None = None,
) -> SystemSpec:
    """Every part of TOP except the activator (which is built beside it); warnings about
    what it rendered are appended to `warnings`."""
    get = values.get
    units = _units(writer, values)
    mount_units, file_systems = render_filesystems(writer, get("fileSystems", {}))
    swap_units, swaps = render_swaps(writer, list(get("swapDevices", [])))
    units += mount_units + swap_units
    firewall = get("networking.firewall")
    firewall_text = render_ruleset(firewall) if firewall is not None else None
    if firewall_text is not None and check_firewall:
        _check_firewall_once(store, firewall_text)
    etc = render_etc(
        writer,
        get("environment.etc", {}),
        lambda src: _add_etc_source(store, src, warnings),
        progress,
    )
    grub = get("boot.loader.grub")
    boot = (
        render_boot({"loader": {"grub": grub}, "kernelParams": get("boot.kernelParams", [])})
        if grub is not None
        else _NO_BOOT
    )
    boot = {**boot, "isContainer": bool(get("boot.isContainer", False))}
    return SystemSpec(
        hostname=str(get("networking.hostName", "declos")),
        time_zone=get("time.timeZone"),
        activator="",
        sw=sw,
        variables=dict(get("environment.variables", {})),
        etc=etc,
        units=units,
        users=render_users({"users": get("users.users", {}), "groups": get("users.groups", {})}),
        firewall=firewall_text,
        file_systems=file_systems,
        swap_devices=swaps,
        boot=boot,
        activation_scripts=render_activation_scripts(writer, get("system.activationScripts", {})),
        tmpfiles=_tmpfiles(etc),
        config_json=config_json,
    )


_NO_BOOT: dict[str, Any] = {
    "kernelParams": [],
    "grub": {"enable": False, "device": None, "configurationLimit": 100, "extraEntries": ""},
    "kernel": None,
    "initrd": None,
}


def _units(writer: StoreWriter, values: Mapping[str, Any]) -> list[Unit]:
    systemd = {
        kind: values.get(f"systemd.{kind}", {}) for kind in ("services", "timers", "sockets")
    }
    return render_systemd(writer, systemd)


def _add_etc_source(store: Any, source: str, warnings: list[str]) -> str:
    """Put an /etc source from outside the store into it; warn, as NixOS does, when a
    file others may not read is about to become world-readable there."""
    try:
        mode = os.stat(source).st_mode
    except OSError as exc:
        raise SystemBuildError(
            f"environment.etc: cannot read source {source}: {exc.strerror}"
        ) from None
    if stat.S_ISREG(mode) and not mode & stat.S_IROTH:
        warnings.append(
            f"environment.etc: {source} is not world-readable (mode {stat.S_IMODE(mode):04o}) "
            "but its copy in the store will be (0444); keep secrets out of the store "
            "(deployment.keys, or a file the activation reads on the target)"
        )
    return str(store.add_path(source))


def _tmpfiles(etc: list[EtcEntry]) -> str | None:
    return next((e.source for e in etc if e.target == TMPFILES_TARGET), None)


def _check_firewall_once(store: Any, text: str) -> None:
    """`nft --check` the ruleset unless this exact text was checked before (it is a store path)."""
    path = make_text_path("firewall.nft", text.encode(), [], store.store_dir)
    if store.is_valid(path):
        return
    check_ruleset(text)
    store.add_text("firewall.nft", text)


def read_values(ev: Any, paths: Sequence[str] = OPTION_PATHS) -> dict[str, Any]:
    """Option values by dotted path; options the module library does not declare are absent."""
    values: dict[str, Any] = {}
    for dotted in paths:
        try:
            values[dotted] = ev.value(dotted)
        except MissingAttributeError:
            continue
    return values


def build_system(
    config_files: Sequence[str | os.PathLike[str] | Mapping[str, Any]],
    *,
    store: Any = None,
    root: str | None = None,
    special_args: Mapping[str, Any] | None = None,
    bare: bool = False,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Evaluate `config_files` (paths, or dict modules) and build their system closure;
    returns TOP and warnings.

    Raises declos.config.EvaluationError for evaluation errors (failed assertions
    included) and SystemBuildError for everything the builder rejects; in both cases
    nothing reaches the store's profiles. `bare` leaves out the standard module library.
    """
    if store is None:
        store = Store.open(root=root)
    args = dict(special_args or {})
    if "pkgs" not in args:
        args["pkgs"] = _default_pkgs(store, config_files)
    ev = evaluate(list(config_files), special_args=args, bare=bare)
    values = read_values(ev)
    config_json = config_json_of(ev)
    try:
        result = build_from_values(
            store,
            values,
            config_json=config_json,
            context=_context_of(args["pkgs"]),
            host_requires=getattr(args["pkgs"], "host_requires", None),
            progress=progress,
        )
    except SystemBuildError as exc:
        sites = definition_sites(ev, exc.path) if exc.path else []
        if not sites:
            raise
        raise SystemBuildError(f"{exc}\n(defined in {', '.join(sites)})", exc.path) from None
    if root is not None:
        result.warnings += _root_warnings(values)
    result.warnings = list(
        dict.fromkeys([*(getattr(ev, "warnings", None) or []), *result.warnings])
    )
    return result


def _context_of(pkgs: Any) -> StringContext | None:
    """The string context of the package set the modules saw (None if it has none)."""
    context = getattr(pkgs, "context", None)
    return context if isinstance(context, StringContext) else None


def _root_warnings(values: Mapping[str, Any]) -> list[str]:
    """What a build for an image tree (`--root`) should say about its boot entries."""
    grub = values.get("boot.loader.grub")
    params = values.get("boot.kernelParams", [])
    if grub is None or not grub["enable"] or any(p.startswith("root=") for p in params):
        return []
    return [
        "boot.loader.grub: under --root the GRUB entries carry no root= (the image's root "
        "device is not known here) and become the default entry; add root=... to "
        "boot.kernelParams, or set boot.loader.grub.enable = false"
    ]


def _default_pkgs(store: Any, config_files: Sequence[Any] = ()) -> Any:
    # Debian packages come from declos.lock beside the first configuration file.
    files = [os.fspath(f) for f in config_files if isinstance(f, str | os.PathLike)]
    return Pkgs(store, lock=lock_path_for(files) if files else None)


SECRET = "<secret: not stored>"


def config_json_of(ev: Any) -> str:
    """config.json: the whole evaluated config; options that have no value (no default,
    never defined, e.g. a disabled service's required option) are left out, and secrets
    (`deployment.keys.*.text`) are replaced by a placeholder: TOP is world-readable."""
    data = ev.export_json()
    for key in ((data.get("deployment") or {}).get("keys") or {}).values():
        if isinstance(key, dict) and key.get("text") is not None:
            key["text"] = SECRET
    text = json.dumps(data, indent=2, sort_keys=True, default=str)
    return text + "\n"
