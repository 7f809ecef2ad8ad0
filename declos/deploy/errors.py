"""Errors of declos.deploy: each says what is wrong and how to fix it; the CLI prints it as `error:`."""

from __future__ import annotations


class DeployError(Exception):
    """Base of every deployment error the CLI reports without a traceback."""


class StateError(DeployError):
    """The state database is unusable (newer schema, corrupt, wrong permissions)."""


class NoSuchDeployment(DeployError):
    """`-d NAME` names no deployment, or `-d` was omitted and there is not exactly one."""


class DeploymentExists(DeployError):
    """`create -d NAME` or `clone` with a name already in use."""


class LockHeld(DeployError):
    """Another live process holds the deployment's lock; the message names it."""

    def __init__(self, deployment: str, holder: str) -> None:
        super().__init__(
            f"deployment {deployment!r} is locked by {holder}; wait for it to finish, "
            "or pass --lock-timeout SECONDS to wait for it"
        )
        self.holder = holder


class NetworkError(DeployError):
    """A network file is malformed (the message carries file:line)."""


class SelectionError(DeployError):
    """`--on`, `--include` or `--exclude` select nothing or name unknown machines."""
