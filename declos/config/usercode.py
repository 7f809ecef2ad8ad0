"""Failures of user code (Python modules, lazy values) reported at their line.

Evaluation runs code from module files; an exception it raises is turned into an
`EvaluationError` naming the file:line in that module, never a declos traceback.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator

from declos.config.errors import EvaluationError
from declos.config.locations import display_path

USER_FAILURES = (Exception, SystemExit, KeyboardInterrupt)
"""What module code may raise and evaluation reports at its line: any error,
`sys.exit()` (a module cannot end the process) and KeyboardInterrupt (a module raising
it is not the user's ^C; a real ^C while module code runs is reported where it hit)."""


def user_code_error(exc: BaseException, file: str, context: str) -> EvaluationError:
    """An exception raised by module code, reported at its line in that file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == file]
    where = f"{display_path(file)}:{frames[-1].lineno}" if frames else display_path(file)
    if isinstance(exc, SystemExit):
        return EvaluationError(
            f"{where}: SystemExit: the module called sys.exit({exc.code!r}) ({context}).\n"
            "Hint: a module cannot end the evaluation; raise an exception with a message, "
            "or declare an assertion in `assertions'."
        )
    return EvaluationError(f"{where}: {type(exc).__name__}: {exc}\n({context})")


def check_text(data: bytes, display: str) -> str:
    """`data` decoded as module text (UTF-8 without NUL bytes), or a clear error."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvaluationError(
            f"{display}: not a UTF-8 text file (byte 0x{data[exc.start]:02x} at offset {exc.start} "
            "is not UTF-8).\nHint: module files are UTF-8 YAML or Python text; check that this is "
            "the file you meant to import."
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise EvaluationError(
            f"{display}:{line}: not a text file (it holds a NUL byte).\nHint: module files are "
            "UTF-8 YAML or Python text; check that this is the file you meant to import."
        )
    return text


@contextlib.contextmanager
def output_to_stderr() -> Iterator[None]:
    """Module code's `print()` goes to stderr while it runs: declos' stdout is data
    (`top=$(declos build ...)` takes the store path from it)."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def read_site_error(exc: EvaluationError, file: str) -> EvaluationError:
    """A read of something that does not exist, with the line in `file` that read it."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == file]
    if not frames:
        return exc
    return EvaluationError(f"{exc.message}\n(read at {display_path(file)}:{frames[-1].lineno})")
