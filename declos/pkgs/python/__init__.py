"""declos.pkgs.python: Python distributions from a PEP 751 lock, environments, applications."""

from __future__ import annotations

from declos.pkgs.python.errors import PythonError
from declos.pkgs.python.packages import Python, PythonDist

__all__ = ["Python", "PythonDist", "PythonError"]
