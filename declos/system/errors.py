"""The error every renderer raises, carrying the option path it is about.

The builder turns the path into the definitions' file:line (declos.system.locate), so a
bad value is reported where the user wrote it, not only by option name.
"""

from __future__ import annotations

from collections.abc import Sequence


class RenderError(ValueError):
    """A configuration value the builder cannot render; `path` is the option it came from."""

    def __init__(self, message: str, path: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.path: tuple[str, ...] = tuple(path)
