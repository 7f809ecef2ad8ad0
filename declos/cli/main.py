"""The `declos` command: builds one argparse tree from the command modules, runs one.

Each module in COMMAND_MODULES exposes ``register(subparsers)``, which adds its
subcommands and sets ``func`` on them. Command modules import their library code at
module level; main imports only the module that owns the command given, so
`declos eval` does not pay for paramiko or rich.

Building every subparser costs ~30 ms (argparse looks up translations for each help
string), a large share of a fast command such as `declos store dump`. So when the first
word names a command, only the module that owns it registers; `--help` and unknown
words get the full tree.

No traceback reaches a user: expected failures (the library's domain errors, listed in
EXPECTED_ERRORS, and OSError) print one `error: ...` line block and exit 1; anything else
is a bug, reported in one line with the traceback saved to a file, unless
`--show-trace` is given.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable

from declos import __version__

COMMAND_MODULES: tuple[str, ...] = (
    "declos.cli.eval",
    "declos.cli.options",
    "declos.cli.store",
    "declos.cli.system",
    "declos.cli.lock",
    "declos.cli.pkgs",
    "declos.cli.env",
    "declos.cli.shell",
    "declos.cli.deploy",
    "declos.cli.machines",
    "declos.cli.generate_config",
)

COMMAND_OWNERS: dict[str, str] = {
    "eval": "declos.cli.eval",
    "options": "declos.cli.options",
    "store": "declos.cli.store",
    "lock": "declos.cli.lock",
    "why-depends": "declos.cli.lock",
    "pkgs": "declos.cli.pkgs",
    "env": "declos.cli.env",
    "shell": "declos.cli.shell",
    "hook": "declos.cli.shell",
    **dict.fromkeys(
        ("build", "switch", "boot", "test", "dry-activate", "rollback", "generations"),
        "declos.cli.system",
    ),
    **dict.fromkeys(
        (
            "create",
            "modify",
            "clone",
            "delete",
            "list",
            "info",
            "deploy",
            "check",
            "ssh",
            "ssh-for-each",
            "scp",
            "reboot",
            "list-generations",
            "delete-generation",
            "send-keys",
            "show-option",
            "export",
            "import",
            "forget-host-key",
        ),
        "declos.cli.deploy",
    ),
    **dict.fromkeys(("start", "stop", "destroy"), "declos.cli.machines"),
    "generate-config": "declos.cli.generate_config",
}

# The library's domain errors: their message is written for the user (what is wrong,
# where, how to fix it). Looked up in sys.modules only, so that listing one costs no
# import: an exception of a class whose module was never imported cannot be raised.
# Add your area's base error class here (module, class name).
EXPECTED_ERRORS: tuple[tuple[str, str], ...] = (
    ("declos.config.errors", "EvaluationError"),
    ("declos.store.errors", "StoreError"),
    ("declos.system.build", "SystemBuildError"),
    ("declos.system.errors", "RenderError"),
    ("declos.system.local_host", "NoGeneration"),
    ("declos.virt.errors", "VirtError"),
    ("declos.hosts.errors", "HostError"),
    ("declos.common.errors", "DeclosError"),
)

SHOW_TRACE = "--show-trace"
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


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
    parser.add_argument(
        SHOW_TRACE,
        action="store_true",
        help="on an internal error, print the Python traceback (accepted anywhere in the line)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def _version() -> str:
    return f"declos {__version__}"


def expected_errors() -> tuple[type[BaseException], ...]:
    """The domain error classes of EXPECTED_ERRORS whose modules are loaded, plus OSError."""
    found: list[type[BaseException]] = [UsageError, OSError]
    for module_name, class_name in EXPECTED_ERRORS:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module else None
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def describe(exc: BaseException) -> str:
    """The user-facing text of an expected error (OSError gets its file name)."""
    if isinstance(exc, OSError) and exc.strerror:
        names = [n for n in (exc.filename, exc.filename2) if n is not None]
        where = " -> ".join(os.fsdecode(n) for n in names)
        return f"{where}: {exc.strerror}" if where else exc.strerror
    return str(exc) or type(exc).__name__


def check_environment() -> str | None:
    """What makes every command fail before it starts, as an error message (or None)."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return (
            "the current working directory no longer exists (it was deleted or moved); "
            "cd into an existing directory and run declos again"
        )
    return None


def check_root(args: argparse.Namespace) -> str | None:
    """A `--root` that exists but is not a directory is refused before anything runs."""
    root = getattr(args, "root", None)
    if root and os.path.lexists(root) and not os.path.isdir(root):
        return f"--root {root} is not a directory; give the directory of the tree or store"
    return None


def report_internal_error(exc: BaseException, show_trace: bool) -> None:
    """A bug: one line naming the file that holds the traceback (or the traceback itself).

    tempfile and traceback are imported here, on this rare path: at module level they
    cost every command ~5 ms (12 ms at load 7), a tenth of `declos shell`'s goal."""
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(exc))
    if show_trace:
        sys.stderr.write(text)
        print(f"error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return
    try:
        fd, path = tempfile.mkstemp(prefix="declos-internal-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"declos {' '.join(sys.argv[1:])}\n{text}")
        where = f"the traceback is in {path}"
    except OSError:
        where = f"rerun with {SHOW_TRACE} to see the traceback"
    print(
        f"error: internal error ({type(exc).__name__}: {exc}); {where}, please report it",
        file=sys.stderr,
    )


def run_handler(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Call a command handler and turn every failure into a message and an exit code."""
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `declos options | head`: the reader left; exit quietly like coreutils do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except SystemExit as exc:
        # Something inside the command (a user's module, a library) called sys.exit().
        print(
            f"error: the command was stopped by exit({exc.code!r}) from inside it "
            "(a Python module calling sys.exit?)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except Exception as exc:  # the one place that turns every bug into a one-line report
        if isinstance(exc, expected_errors()):
            print(f"error: {describe(exc)}", file=sys.stderr)
        else:
            report_internal_error(exc, getattr(args, "show_trace", False))
        return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    show_trace = SHOW_TRACE in words
    words = [w for w in words if w != SHOW_TRACE]
    # declos's own bytecode is cached like any package's; beside a user's modules nothing
    # is written (declos.config.pymodule's loader).
    problem = check_environment()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_ERROR
    parser = build_parser(words[0] if words else None)
    args = parser.parse_args(words)
    args.show_trace = show_trace
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    problem = check_root(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_ERROR
    return run_handler(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
