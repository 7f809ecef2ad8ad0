"""The evaluation error types (a leaf: imports nothing from declos.config).

Every message names the option path, lists each relevant definition with file:line and
ends with a hint, so the user can fix the input without reading declos' source; the
shared pieces of those messages live in `declos.config.messages`.
"""

from __future__ import annotations


class EvaluationError(Exception):
    """A user-facing evaluation error; `str(e)` is the complete message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class MissingAttributeError(EvaluationError, AttributeError, KeyError):
    """Reading a name that is neither declared nor defined.

    It is also an AttributeError/KeyError so that `hasattr`, `getattr(x, n, d)`, `.get()`
    and Jinja's attribute lookup treat it as "absent".
    """

    def __str__(self) -> str:
        return self.message
