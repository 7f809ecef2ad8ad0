"""The harness's action log: every Machine action says what it did and how long it took.

Modelled on the NixOS test driver's nested log sections. Lines go to the standard
`logging` logger "declos.testing" (pytest shows them with a failing test) and, when a
session log file is set, to that file as well.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOGGER = logging.getLogger("declos.testing")


class ActionLog:
    """Nested, timed log sections."""

    def __init__(self, file: Path | None = None) -> None:
        self.file = file
        self.depth = 0

    def line(self, message: str) -> None:
        text = "  " * self.depth + message
        LOGGER.info(text)
        if self.file is not None:
            with open(self.file, "a") as fh:
                fh.write(time.strftime("%H:%M:%S ") + text + "\n")

    @contextmanager
    def nested(self, message: str) -> Iterator[None]:
        """Log `message`, run the body, log how it ended and how long it took."""
        self.line(message)
        started = time.monotonic()
        self.depth += 1
        try:
            yield
        except BaseException as exc:
            self.depth -= 1
            self.line(f"(failed after {time.monotonic() - started:.2f} s: {type(exc).__name__})")
            raise
        self.depth -= 1
        self.line(f"(finished in {time.monotonic() - started:.2f} s)")
