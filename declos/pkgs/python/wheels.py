"""Which locked wheel a target interpreter can use: the first of its tags, in order.

This is `pip`'s and pyproject.nix's `selectWheels` rule: the interpreter's supported tags
(packaging.tags, most specific first) rank the wheels; no match means the sdist.
"""

from __future__ import annotations

from functools import cache

from packaging import tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from declos.pkgs.python.errors import PythonError
from declos.pkgs.python.lockfile import Artifact, LockedDist


@cache
def target_tags(version: tuple[int, int]) -> tuple[tags.Tag, ...]:
    """The tags CPython `version` on this machine's platform accepts, best first."""
    return (*tags.cpython_tags(version), *tags.compatible_tags(version))


def select_wheel(dist: LockedDist, version: tuple[int, int]) -> Artifact | None:
    """The best wheel of `dist` for CPython `version` here, or None (use the sdist)."""
    rank = {t: i for i, t in enumerate(target_tags(version))}
    best: tuple[int, Artifact] | None = None
    for w in dist.wheels:
        try:
            _, _, _, wheel_tags = parse_wheel_filename(w.filename)
        except InvalidWheelFilename as exc:
            raise PythonError(f"{dist.name} {dist.version}: {exc}") from None
        score = min((rank[t] for t in wheel_tags if t in rank), default=None)
        if score is not None and (best is None or score < best[0]):
            best = (score, w)
    return best[1] if best else None
