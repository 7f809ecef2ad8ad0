"""`pkgs.stdenv`: building from source in the sandbox with a toolchain from the lock.

`mk_derivation` is nixpkgs' `stdenv.mkDerivation` for declos: the builder is bash running
`setup.sh` (phases unpack, patch, configure, build, check, install, fixup, each
replaceable, with pre/post hooks). The compiler is the locked Debian gcc, run through a
wrapper with `--sysroot` = one profile of the toolchain and the build inputs, so headers
and libraries come from the store and never from the host's /usr (which the sandbox
shows read-only for bash, tar, sed and friends). Every build input's closure lends its
library directories to RUNPATH at link time; fixup keeps only the ones a DT_NEEDED
library is found in, so the output runs on a host without the build inputs and keeps
only the libraries it links in its closure.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from declos.pkgs.stdenv.hooks import input_variables
from declos.store.derivation import Derivation, Source
from declos.store.errors import StoreError

if TYPE_CHECKING:
    from declos.pkgs.package_set import Pkgs

SETUP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "setup.sh")
# The locked Debian packages every build gets (host-libc mode: libc6 and libgcc-s1 are
# in the base set, so the sysroot names them to link against).
TOOLCHAIN = ("gcc", "make", "binutils", "libc6-dev", "libc6", "libgcc-s1", "patchelf", "pkg-config")
PHASES = (
    "unpackPhase",
    "patchPhase",
    "configurePhase",
    "buildPhase",
    "checkPhase",
    "installPhase",
    "fixupPhase",
)
HOOKS = tuple(
    f"{when}_{phase.removesuffix('Phase').lower()}" for phase in PHASES for when in ("pre", "post")
) + tuple(f"{phase.removesuffix('Phase').lower()}_phase" for phase in PHASES)
HOST_TOOLS = "/usr/bin:/bin"


class StdenvError(StoreError):
    """A mk_derivation call that cannot work; the message says which argument and why."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


class StdenvDerivation(Derivation):
    """The result of mk_derivation; `override`/`override_attrs` give modified copies."""

    _stdenv: Stdenv
    _args: dict[str, Any]
    _function: Callable[..., Derivation] | None
    _function_args: dict[str, Any]
    runtime_inputs: list[Derivation]  # build inputs' closures: the RUNPATH candidates

    def override(self, **changes: Any) -> Derivation:
        """Re-call the package function with other inputs (nixpkgs' `.override`); without a
        package function (`call_package`), re-call mk_derivation with other arguments."""
        if self._function is not None:
            return self._stdenv.call_package(self._function, **{**self._function_args, **changes})
        return self._stdenv.mk_derivation(**{**self._args, **changes})

    def override_attrs(
        self, fn: Callable[[dict[str, Any], dict[str, Any]], Mapping[str, Any]]
    ) -> StdenvDerivation:
        """`fn(final, prev)` returns mk_derivation arguments to change (`overrideAttrs`)."""
        prev = dict(self._args)
        return self._stdenv.mk_derivation(**{**prev, **fn(prev, prev)})


class Stdenv:
    """The standard build environment of one package set."""

    def __init__(self, pkgs: Pkgs) -> None:
        self._pkgs = pkgs

    def toolchain(self) -> list[Derivation]:
        missing = [n for n in TOOLCHAIN if n not in self._pkgs.debian]
        if missing:
            raise StdenvError(
                f"building from source needs {', '.join(missing)} in declos.lock; add them "
                "to the locked packages (`declos lock -c FILE` with them in use)"
            )
        return _closure(self._pkgs.debian[n] for n in TOOLCHAIN)

    def mk_derivation(
        self,
        name: str,
        *,
        src: Derivation | Source | str,
        version: str | None = None,
        build_inputs: Sequence[Derivation] = (),
        native_build_inputs: Sequence[Derivation] = (),
        configure_flags: Sequence[str] = (),
        make_flags: Sequence[str] = (),
        install_flags: Sequence[str] = (),
        patches: Sequence[Derivation | Source | str] = (),
        do_check: bool = False,
        check_target: str = "check",
        phases: Sequence[str] = PHASES,
        env: Mapping[str, str] | None = None,
        **hooks: str,
    ) -> StdenvDerivation:
        args = {k: v for k, v in locals().items() if k not in ("self", "hooks")}
        args.update(hooks)
        unknown = sorted(set(hooks) - set(HOOKS))
        if unknown:
            raise StdenvError(
                f"mk_derivation {name!r}: unknown argument {unknown[0]!r}; hooks are "
                f"pre_/post_<phase> and <phase>_phase for {', '.join(p[:-5] for p in PHASES)}"
            )
        bad = [p for p in phases if p not in PHASES]
        if bad:
            raise StdenvError(
                f"mk_derivation {name!r}: unknown phase {bad[0]!r}; phases: {', '.join(PHASES)}"
            )
        pkgs = self._pkgs
        runtime = _closure(build_inputs)
        profile = pkgs.symlink_join(
            f"{name}-build-inputs", [*runtime, *_closure(native_build_inputs), *self.toolchain()]
        )
        variables = input_variables(profile.out_path)
        variables["PATH"] = f"{profile.out_path}/bin:{HOST_TOOLS}"
        full_name = f"{name}-{version}" if version else name
        drv_env: dict[str, str] = {
            **variables,
            "src": str(src),
            "declosSysroot": profile.out_path,
            "declosRuntimeInputs": " ".join(d.out_path for d in runtime),
            "configureFlags": " ".join(configure_flags),
            "makeFlags": " ".join(make_flags),
            "installFlags": " ".join(install_flags),
            "patches": " ".join(str(p) for p in patches),
            "doCheck": "1" if do_check else "",
            "checkTarget": check_target,
            "phases": " ".join(phases),
            "pname": name,
            **({"version": version} if version else {}),
            **{_camel(k): v for k, v in hooks.items()},
            **(env or {}),
        }
        setup = pkgs.path(SETUP, "declos-stdenv-setup.sh")
        drv = StdenvDerivation(
            full_name,
            "/bin/bash",
            [setup],
            drv_env,
            input_drvs=[
                profile,
                *runtime,
                *[x for x in [src, *patches] if isinstance(x, Derivation)],
            ],
            input_srcs=[x for x in [src, *patches] if isinstance(x, Source)],
            system=pkgs.system,
            store_dir=pkgs.store_dir,
            context=pkgs.context,
        )
        drv._stdenv, drv._args = self, args
        drv.runtime_inputs = runtime
        drv._function, drv._function_args = None, {}
        return drv

    def call_package(self, fn: Callable[..., Derivation], **overrides: Any) -> Derivation:
        """Call a package function, filling each parameter it names from the package set
        (`pkgs`, `stdenv`, `fetchurl`, Debian package names with `_` for `-`) unless
        given; the result's `override(**inputs)` calls it again with other inputs."""
        pkgs = self._pkgs
        args: dict[str, Any] = {}
        for param in inspect.signature(fn).parameters.values():
            if param.name in overrides:
                args[param.name] = overrides[param.name]
            elif param.name == "pkgs":
                args[param.name] = pkgs
            elif param.name == "stdenv":
                args[param.name] = self
            elif param.name == "fetchurl":
                args[param.name] = pkgs.fetchurl
            elif param.default is not inspect.Parameter.empty:
                continue
            else:
                args[param.name] = pkgs.debian[param.name.replace("_", "-")]
        result = fn(**args)
        if isinstance(result, StdenvDerivation):
            result._function = fn
            result._function_args = {
                k: v
                for k, v in args.items()
                if k in overrides or k not in ("pkgs", "stdenv", "fetchurl")
            }
        return result


def _closure(packages: Iterable[Derivation]) -> list[Derivation]:
    """The packages and (for Debian packages) their closures, first occurrence kept."""
    out: dict[str, Derivation] = {}
    for p in packages:
        members = getattr(p, "profile_packages", None)
        for d in members() if callable(members) else [p]:
            out.setdefault(d.drv_path, d)
    return list(out.values())
