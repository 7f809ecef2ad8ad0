"""VM tests: the declos.testing pytest plugin provides the machine fixtures."""

from declos.testing.plugin import *  # noqa: F401,F403
