"""The Python lock while `declos lock` evaluates a configuration: it records.

Evaluating a configuration that uses `pkgs.python3` needs a lock to compute derivations,
but `declos lock` runs to make that lock. So the evaluation gets a `RecordingLock`: every
distribution the configuration asks for is recorded (with the requirement text a project's
pyproject.toml gave) and answered with a placeholder entry (version 0, a zero hash) that
nothing ever fetches; `dist(NAME, sdist=True)` records that NAME is to be locked as an sdist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from declos.pkgs.python.lockfile import Artifact, LockedDist, PyLock, canonical_name
from declos.pkgs.python.project import requirement_name

_ZERO = "0" * 64


@dataclass
class RecordingLock(PyLock):
    """A lock that answers every name and remembers the requirements asked for."""

    requirements: dict[str, str] = field(default_factory=dict)
    sdists: set[str] = field(default_factory=set)

    def get(self, name: str) -> LockedDist:
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

    def require(self, requirement: str) -> None:
        """Record a full PEP 508 requirement (a project's `pyproject.toml` entry)."""
        key = canonical_name(requirement_name(requirement))
        self.get(key)
        self.requirements[key] = requirement
