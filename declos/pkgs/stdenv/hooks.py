"""Setup hooks: the variables a C or Python build needs, from one profile of its inputs.

nixpkgs' stdenv runs a setup hook per input (bin to PATH, include dirs to the compiler
flags, pkgconfig dirs to PKG_CONFIG_PATH, ...). declos first merges the inputs into one
profile (a symlink join), so every variable has exactly one root and PATH one entry;
Debian packages put everything under `usr/` with top-level links, so the multiarch
directories are named explicitly. Directories that do not exist cost nothing: the
compiler and pkg-config skip them, so the list is computed without touching the store.
"""

from __future__ import annotations

TRIPLET = "x86_64-linux-gnu"


def input_variables(profile: str, *, python: bool = False) -> dict[str, str]:
    """The variables builds and shells get from the profile at `profile`."""
    env = {
        "PATH": f"{profile}/bin",
        "CPATH": f"{profile}/usr/include/{TRIPLET}:{profile}/usr/include",
        "LIBRARY_PATH": f"{profile}/usr/lib/{TRIPLET}:{profile}/usr/lib",
        "PKG_CONFIG_PATH": ":".join(
            f"{profile}/{d}"
            for d in (f"usr/lib/{TRIPLET}/pkgconfig", "usr/lib/pkgconfig", "usr/share/pkgconfig")
        ),
        # Debian's .pc files say prefix=/usr: pkg-config prefixes their -I/-L with this.
        "PKG_CONFIG_SYSROOT_DIR": profile,
        "XDG_DATA_DIRS": f"{profile}/share",
    }
    if python:
        # The profile carries the environment's pyvenv.cfg and merged site-packages, so
        # PROFILE/bin/python is that virtualenv (no PYTHONPATH).
        env["VIRTUAL_ENV"] = profile
    return env
