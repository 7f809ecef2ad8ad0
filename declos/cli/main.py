"""The `declos` command: builds one argparse tree from the command modules.

Each module in COMMAND_MODULES exposes ``register(subparsers)``, which adds its
subcommands and sets ``func`` on them. Command modules keep their library imports
inside the handlers so that `declos eval` does not pay for paramiko or rich.

Building every subparser costs ~30 ms (argparse looks up translations for each help
string), a large share of a fast command such as `declos store dump`. So when the first
word names a command, only the module that owns it registers; `--help` and unknown
words get the full tree.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMAND_MODULES: tuple[str, ...] = (
    "declos.cli.eval",
    "declos.cli.options",
    "declos.cli.store",
    "declos.cli.system",
)

COMMAND_OWNERS: dict[str, str] = {
    "eval": "declos.cli.eval",
    "options": "declos.cli.options",
    "store": "declos.cli.store",
    **dict.fromkeys(
        ("build", "switch", "boot", "test", "dry-activate", "rollback", "generations"),
        "declos.cli.system",
    ),
}


class UsageError(Exception):
    """Raised by handlers for bad invocations; printed without a traceback, exit 1."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for `command` only when it is known, else for every command."""
    owner = COMMAND_OWNERS.get(command or "")
    modules = (owner,) if owner else COMMAND_MODULES
    parser = argparse.ArgumentParser(
        prog="declos",
        description="Declarative OS configuration and deployment.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def _version() -> str:
    from declos import __version__

    return f"declos {__version__}"


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(words[0] if words else None)
    args = parser.parse_args(words)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        rc = args.func(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `declos options | head`: the reader left; exit quietly like coreutils do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
