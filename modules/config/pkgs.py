"""`pkgs.overlays` and `pkgs.hermetic`: NixOS's `nixpkgs.overlays`, and hermetic mode for
the whole system (docs/packages.md).

The package set reads both when the first package is looked up. Define them in a module
that does not itself use `pkgs` while it runs (a plain dict module, or lazy values):
Python evaluates a module's dict eagerly, so a module that both uses `pkgs.jq` and
defines `pkgs.overlays` would need its own result to compute it.
"""

from declos.config import Option, types

options = {
    "pkgs.overlays": Option(
        types.list_of(types.add_check(types.raw, callable)),
        [],
        "Functions overlay(final, prev) -> dict of packages, applied in order over the "
        "locked Debian packages: `prev` is the set below, `final` the set with every "
        "overlay applied. A replaced package is also what the packages that depend on it "
        "are built with (NixOS's nixpkgs.overlays).",
        example="[lambda final, prev: {'jq': prev.jq.override(hermetic=True)}]",
    ),
    "pkgs.hermetic": Option(
        types.bool,
        False,
        "Build every Debian package hermetic: libc6 from the store, the interpreter "
        "pointing into it, nothing of the host's libraries used (per package: "
        "pkg.override(hermetic=True)).",
    ),
}
