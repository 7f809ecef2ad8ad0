"""Small persistent records of what is active and what an interrupted run intended.

`active` names the closure whose files are on the host (the *old* side of the next
comparison); `journal.json` is written before the first change and removed after the
last, so a run killed in between is detected and its pending unit starts are resumed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from declos.activation.paths import Host
from declos.common.atomic import atomic_write, read_json, write_json


class ActivationState:
    def __init__(self, host: Host) -> None:
        self.dir: Path = host.activation_state

    @property
    def lock_path(self) -> Path:
        return self.dir / "lock"

    def active_system(self) -> str | None:
        try:
            return (self.dir / "active").read_text().strip() or None
        except FileNotFoundError:
            return None

    def set_active_system(self, top: str) -> None:
        atomic_write(self.dir / "active", top + "\n")

    def journal(self) -> dict[str, Any] | None:
        value = read_json(self.dir / "journal.json", None)
        return value if isinstance(value, dict) else None

    def write_journal(self, value: dict[str, Any]) -> None:
        write_json(self.dir / "journal.json", value)

    def clear_journal(self) -> None:
        try:
            os.unlink(self.dir / "journal.json")
        except FileNotFoundError:
            pass
