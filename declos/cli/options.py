"""`declos options [--bare] [--json|--markdown] [FILE...] [PATTERN]`: option documentation."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from declos.cli.main import UsageError
from declos.config import EvaluationError, evaluate
from declos.config.docs import option_records, select, to_markdown, to_options_json, to_terminal
from declos.config.messages import did_you_mean
from declos.config.pkgsproxy import LazyPkgs

MODULE_SUFFIXES = (".yaml", ".yml", ".py")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "options",
        help="list declared options with their documentation",
        description="Show every visible option declared by the standard module library (unless "
        "--bare) and FILE...: type, default, example, description, where declared. Arguments "
        "that are module files (existing, or ending in .yaml/.yml/.py) are FILEs; one other "
        "argument is a PATTERN: an option name (shows it and the options below it) or a glob.",
    )
    parser.add_argument(
        "--bare", action="store_true", help="do not include the standard module library"
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument(
        "--json", action="store_true", help="NixOS options.json shape, keyed by option name"
    )
    fmt.add_argument("--markdown", action="store_true", help="Markdown, one section per option")
    parser.add_argument("items", nargs="*", metavar="FILE|PATTERN")
    parser.set_defaults(func=run)


def _split(items: list[str]) -> tuple[list[str], str | None]:
    files, patterns = [], []
    for item in items:
        if item.endswith(MODULE_SUFFIXES) or Path(item).is_file():
            files.append(item)
        else:
            patterns.append(item)
    if len(patterns) > 1:
        raise UsageError(
            f"more than one PATTERN given ({', '.join(patterns)}); module files end in .yaml, .yml or .py"
        )
    return files, (patterns[0] if patterns else None)


def run(args: argparse.Namespace) -> int:
    files, pattern = _split(args.items)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            ev = evaluate(files, bare=args.bare, special_args={"pkgs": LazyPkgs()})
            records = option_records(ev)
    except EvaluationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    chosen = select(records, pattern)
    if pattern and not chosen:
        names = [r["name"] for r in records]
        print(
            f"error: no option matches `{pattern}'." + did_you_mean(pattern, names, ()),
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps(to_options_json(chosen), indent=2, sort_keys=True, ensure_ascii=False))
    elif args.markdown:
        print(to_markdown(chosen))
    else:
        print(to_terminal(chosen))
    return 0
