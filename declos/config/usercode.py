"""Failures of user code (Python modules, lazy values) reported at their line.

Evaluation runs code from module files; an exception it raises is turned into an
`EvaluationError` naming the file:line in that module, never a declos traceback.
"""

from __future__ import annotations

import traceback

from declos.config.errors import EvaluationError
from declos.config.locations import display_path


def user_code_error(exc: BaseException, file: str, context: str) -> EvaluationError:
    """An exception raised by module code, reported at its line in that file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == file]
    where = f"{display_path(file)}:{frames[-1].lineno}" if frames else display_path(file)
    return EvaluationError(f"{where}: {type(exc).__name__}: {exc}\n({context})")


def read_site_error(exc: EvaluationError, file: str) -> EvaluationError:
    """A read of something that does not exist, with the line in `file` that read it."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == file]
    if not frames:
        return exc
    return EvaluationError(f"{exc.message}\n(read at {display_path(file)}:{frames[-1].lineno})")
