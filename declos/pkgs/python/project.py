"""A project directory's pyproject.toml, as far as building it needs (PEP 621, PEP 517)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from declos.pkgs.python.errors import PythonError


def requirement_name(requirement: str) -> str:
    """The distribution name a PEP 508 requirement starts with."""
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if m is None:
        raise PythonError(f"requirement {requirement!r} does not start with a distribution name")
    return m.group(1)


def read_project(root: Path) -> dict[str, Any]:
    """name, version, dependencies, build_requires and backend of the project at `root`."""
    path = root / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PythonError(
            f"{path}: cannot read ({exc.strerror}); build_application needs a project "
            "directory with a pyproject.toml"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise PythonError(f"{path}: not valid TOML: {exc}") from None
    project = data.get("project") or {}
    build = data.get("build-system") or {}
    for key in ("name", "version"):
        if not isinstance(project.get(key), str):
            raise PythonError(
                f"{path}: [project] {key} must be a string (a dynamic {key} is not supported)"
            )
    if not isinstance(build.get("build-backend"), str) or not build.get("requires"):
        raise PythonError(
            f"{path}: [build-system] needs `requires` and `build-backend` (the backend "
            "is built from the lock, so it must be named)"
        )
    return {
        "name": project["name"],
        "version": project["version"],
        "dependencies": list(project.get("dependencies") or []),
        "build_requires": list(build["requires"]),
        "backend": build["build-backend"],
    }
