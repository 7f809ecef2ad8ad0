"""The entry point's command table agrees with what the command modules register."""

from __future__ import annotations

import argparse

from declos.cli.main import COMMAND_OWNERS, build_parser


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_every_registered_command_has_its_owner_listed() -> None:
    """A command missing from COMMAND_OWNERS would still run, through the slow full tree."""
    assert _commands(build_parser()) == set(COMMAND_OWNERS)


def test_a_known_command_builds_only_its_owners_commands() -> None:
    owned = {c for c, m in COMMAND_OWNERS.items() if m == "declos.cli.system"}
    assert _commands(build_parser("switch")) == owned
