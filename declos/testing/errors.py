"""Failures of VM tests, split as the NixOS driver does: assertions vs infrastructure."""

from __future__ import annotations


class MachineError(Exception):
    """The harness could not do what was asked (VM did not boot, wait timed out, ...).

    The message ends with the last lines of the machine's serial console, because that is
    where the reason usually is (kernel panic, a unit that failed, a stuck boot).
    """


class WaitTimeout(MachineError):
    """A wait_* ran out of time."""


class GuestHang(MachineError):
    """The guest kernel reported stalled CPUs (soft lockup, RCU stall) and stopped answering.

    Seen under TCG, mostly right after a snapshot restore: the emulator's trouble, not the
    code under test's. The plugin re-runs a VM test once when this ended it (and only this),
    after the test's fixtures brought the machine back from a snapshot or a fresh boot.
    """


class CommandFailed(AssertionError):
    """succeed() saw a non-zero exit, or fail() saw zero: a test assertion."""

    def __init__(
        self, machine: str, command: str, status: int, stdout: str, stderr: str, expected: str
    ) -> None:
        self.machine = machine
        self.command = command
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(
            f"{machine}: command {command!r} exited with {status} (expected {expected})\n"
            f"--- stdout ---\n{stdout.rstrip()}\n--- stderr ---\n{stderr.rstrip()}"
        )
