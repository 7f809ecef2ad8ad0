"""declos.system: an evaluated configuration -> the system closure (see docs/system-closure-build.md)."""

from declos.system.build import (
    BuildResult,
    SystemBuildError,
    build_from_values,
    build_system,
    config_json_of,
    read_values,
)

__all__ = [
    "BuildResult",
    "SystemBuildError",
    "build_from_values",
    "build_system",
    "config_json_of",
    "read_values",
]
