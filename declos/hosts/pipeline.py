"""Putting a built system closure on a host: copy its closure, then run its activator.

This is the step every path to a host shares (deploy, the VM tests, `declos store copy`
followed by an activation), so they all exercise the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from declos.hosts.base import ACTIVATION_TIMEOUT, ActivationOutcome, Host
from declos.store.copy import CopyStats

if TYPE_CHECKING:
    from declos.store.store import Store


@dataclass(frozen=True)
class Pushed:
    """What pushing and activating one closure did."""

    copy: CopyStats
    activation: ActivationOutcome


def push_and_activate(
    host: Host,
    store: Store,
    toplevel: str,
    action: str = "switch",
    *,
    args: Sequence[str] = (),
    compress: bool = False,
    progress: Callable[[str], None] | None = None,
    timeout: float = ACTIVATION_TIMEOUT,
) -> Pushed:
    """Copy TOPLEVEL's closure to `host` (only missing paths), then run
    TOPLEVEL/activate ACTION there. The activation's exit code is reported, not raised;
    `timeout` bounds the activation, so a target that stops answering cannot hang the caller."""
    copy = host.copy_closure_to(store, [toplevel], compress=compress, progress=progress)
    return Pushed(copy, host.activate(toplevel, action, args=args, timeout=timeout))
