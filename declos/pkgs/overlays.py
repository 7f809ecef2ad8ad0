"""`pkgs.overlays`: NixOS's `nixpkgs.overlays`, functions `overlay(final, prev) -> dict`.

Each overlay returns the packages it adds or replaces; `prev` is the set below it (the
locked Debian packages, then the earlier overlays), `final` the set with every overlay
applied. As in nixpkgs, a replaced package is seen by everything built from `final`,
including the Debian packages that depend on it: overriding `libssl3` rebuilds `nginx`
against the new one (its library farm links it).

Nix gets this from lazy attribute sets. Python dicts are eager, so the layers are
computed as a fixed point: round r calls every overlay with `final` answering from
round r's layers below it and round r-1's layers at and above it; the rounds stop when
no layer's derivation paths change. Debian dependency chains are acyclic, so this ends
after at most (longest chain of overridden packages + 1) rounds; a set that does not
settle (an overlay whose result grows with every round) is an error. A lookup that
fails in a round (`final.x` where a later overlay defines x) only makes the overlay's
layer empty for that round; it is an error when it still fails once the layers settle.
Overlays are pure functions of (final, prev), so calling one more than once is harmless.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from declos.pkgs.debian.errors import DebianError
from declos.store.derivation import Derivation

Overlay = Callable[[Any, Any], Mapping[str, Any]]
MAX_ROUNDS = 32


class OverlayError(DebianError):
    """An overlay is not a function of (final, prev) returning a dict, or does not settle."""


class OverlayCodeError(OverlayError):
    """An overlay function raised: reported at its line (an overlay is user code, and
    `declos env` calls it outside any module evaluation)."""


def attr_name(name: str) -> str:
    """Attribute spelling -> package name (`openssh_server` -> `openssh-server`)."""
    return name.replace("_", "-")


class SetView:
    """`final` / `prev` as an overlay sees them: `.NAME`, `["NAME"]`, `.deb.NAME`, and the
    package set's builder functions (`prev.write_text(...)`)."""

    __slots__ = ("_builders", "_lookup")

    def __init__(self, lookup: Callable[[str], Any], builders: Any) -> None:
        self._lookup = lookup
        self._builders = builders

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "deb":
            return self
        if hasattr(type(self._builders), name):
            return getattr(self._builders, name)
        return self._lookup(attr_name(name))

    def __getitem__(self, name: str) -> Any:
        return self._lookup(name)

    def __contains__(self, name: str) -> bool:
        try:
            self._lookup(name)
        except DebianError:
            return False
        return True


def fingerprint(layer: Mapping[str, Any]) -> dict[str, str]:
    """What must stay equal between rounds: each derivation's path (other values by type)."""
    return {
        n: v.drv_path if isinstance(v, Derivation) else f"<{type(v).__name__}>"
        for n, v in layer.items()
    }


class OverlayStack:
    """The layers of a list of overlays over a base lookup, computed once."""

    def __init__(
        self,
        overlays: Sequence[Overlay],
        base: Callable[[str], Any],
        builders: Any,
        set_final: Callable[[Callable[[str], Any] | None], None],
    ) -> None:
        self.overlays = list(overlays)
        self.base = base
        self.builders = builders
        self.set_final = set_final  # how the base resolves Debian dependencies
        self.layers: list[dict[str, Any]] = []

    def lookup(self, name: str, layers: Sequence[Mapping[str, Any]]) -> Any:
        for layer in reversed(layers):
            if name in layer:
                return layer[name]
        return self.base(name)

    def final(self, name: str) -> Any:
        return self.lookup(name, self.layers)

    def names(self) -> set[str]:
        return {n for layer in self.layers for n in layer}

    def compute(self) -> None:
        old: list[dict[str, Any]] = [{} for _ in self.overlays]
        for _ in range(MAX_ROUNDS):
            new: list[dict[str, Any]] = []
            failure: DebianError | None = None
            for i, fn in enumerate(self.overlays):
                final = SetView(partial(self.lookup, layers=[*new, *old[i:]]), self.builders)
                prev = SetView(partial(self.lookup, layers=list(new)), self.builders)
                self.set_final(final.__getitem__)
                try:
                    new.append(self._call(i, fn, final, prev))
                except OverlayCodeError:
                    raise
                except DebianError as exc:
                    # e.g. `final.x` where a later overlay defines x: not known this round
                    failure = exc
                    new.append({})
            settled = [fingerprint(x) for x in new] == [fingerprint(x) for x in old]
            if settled and failure is not None:
                raise failure
            if settled:
                self.layers = new
                self.set_final(self.final)
                return
            old = new
        raise OverlayError(
            f"pkgs.overlays did not settle after {MAX_ROUNDS} rounds: an overlay's result "
            "keeps changing when it is called again with the same final set (does it "
            "create a new package from its own output each time?)"
        )

    @staticmethod
    def _call(i: int, fn: Overlay, final: SetView, prev: SetView) -> dict[str, Any]:
        if not callable(fn):
            raise OverlayError(
                f"pkgs.overlays[{i}] is a {type(fn).__name__}, not a function "
                "overlay(final, prev) returning a dict of packages"
            )
        try:
            result = fn(final, prev)
        except DebianError:
            raise  # a package not known (yet): the rounds decide
        except Exception as exc:  # user code: report it at its line, never a traceback
            raise OverlayCodeError(
                f"{_user_line(exc, fn)}: pkgs.overlays[{i}] ({getattr(fn, '__qualname__', fn)}) "
                f"raised {type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(result, Mapping) or not all(isinstance(k, str) for k in result):
            raise OverlayError(
                f"pkgs.overlays[{i}] ({getattr(fn, '__qualname__', fn)}) returned a "
                f"{type(result).__name__}; an overlay returns a dict name -> package, "
                'e.g. {"jq": prev.jq.override(hermetic=True)}'
            )
        return {attr_name(k): v for k, v in result.items()}


def _user_line(exc: BaseException, fn: Any) -> str:
    """FILE:LINE of the innermost frame of `exc` in the overlay's own file."""
    code = getattr(fn, "__code__", None)
    file = code.co_filename if code is not None else "<overlay>"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == file]
    line = frames[-1].lineno if frames else getattr(code, "co_firstlineno", 0)
    return f"{file}:{line}"
