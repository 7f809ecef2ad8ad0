"""declos.pkgs: the package set modules receive as `pkgs` (trivial builders and fetchers)."""

from __future__ import annotations

from declos.pkgs.package_set import Pkgs, default_pkgs

__all__ = ["Pkgs", "default_pkgs"]
