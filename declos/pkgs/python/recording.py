"""The Python lock while `declos lock` evaluates a configuration: it records.

Evaluating a configuration that uses `pkgs.python3` needs a lock to compute derivations,
but `declos lock` runs to make that lock. So the evaluation gets a `RecordingLock`: every
distribution the configuration asks for is recorded (with the requirement text a project's
pyproject.toml gave) and answered with a placeholder entry (version 0, a zero hash) that
nothing ever fetches; `dist(NAME, sdist=True)` records that NAME is to be locked as an sdist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from declos.pkgs.python.errors import PythonError
from declos.pkgs.python.lockfile import Artifact, LockedDist, PyLock, canonical_name
from declos.pkgs.python.project import requirement_name

_ZERO = "0" * 64
_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")


@dataclass
class RecordingLock(PyLock):
    """A lock that answers every name and remembers the requirements asked for."""

    requirements: dict[str, str] = field(default_factory=dict)
    sdists: set[str] = field(default_factory=set)

    def get(self, name: str) -> LockedDist:
        _check_name(name)
        key = canonical_name(name)
        self.requirements.setdefault(key, name)
        if key not in self.dists:
            stem = key.replace("-", "_")
            self.dists[key] = LockedDist(
                name,
                "0",
                wheels=(Artifact(f"{stem}-0-py3-none-any.whl", "", _ZERO),),
                sdist=Artifact(f"{stem}-0.tar.gz", "", _ZERO),
                dependencies=(),
            )
        return self.dists[key]

    def closure(self, names: Iterable[str]) -> list[str]:
        """The names asked for, recorded (a placeholder depends on nothing)."""
        return sorted({self.get(name).key for name in names})

    def require(self, requirement: str) -> None:
        """Record a full PEP 508 requirement (a project's `pyproject.toml` entry)."""
        key = canonical_name(requirement_name(requirement))
        self.get(key)
        self.requirements[key] = requirement


def _check_name(name: object) -> None:
    """A name as `with_packages` and `dist` take it (a version range is the lock's job)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise PythonError(
            f"{name!r} is not a distribution name; name distributions here "
            '(`with_packages(["six"])`) and pin versions in the lock'
        )
