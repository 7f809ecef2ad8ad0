"""Crash injection for the kill -9 tests: DECLOS_ACTIVATION_CRASH_AT=NAME:N kills this
process with SIGKILL the N-th time point NAME is reached. Unset (always, outside tests),
it does nothing; it exists because "consistent after kill -9 at any step" is a promise
that can only be tested by killing at each step."""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get("DECLOS_ACTIVATION_CRASH_AT")
    if not spec:
        return
    want, _, nth = spec.partition(":")
    if want != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
