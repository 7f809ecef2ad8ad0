"""`declos eval [--bare] [-A PATH] [--json] [--arg NAME VALUE] [--argstr NAME VALUE] FILE...`: evaluate modules, print the config."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from declos.cli.special_args import add_special_args
from declos.config import EvaluationError, evaluate
from declos.config.pkgsproxy import LazyPkgs
from declos.config.render import render
from declos.config.specialargs import parse_special_args


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate modules and print the configuration",
        description="Evaluate FILE... (with the standard module library unless --bare) as one "
        "configuration and print it, or the value at PATH. Errors go to stderr with exit code 1.",
    )
    parser.add_argument(
        "--bare", action="store_true", help="do not include the standard module library"
    )
    parser.add_argument(
        "-A",
        "--attr",
        dest="path",
        default="",
        metavar="PATH",
        help="print only the value at PATH (dotted)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON (derivations as their store paths)"
    )
    add_special_args(parser)
    parser.add_argument("files", nargs="+", metavar="FILE", help="module files (.yaml, .yml, .py)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        # stdout is the value only: what modules print() while evaluating goes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            special = parse_special_args(args.arg, args.argstr)
            ev = evaluate(args.files, bare=args.bare, special_args={"pkgs": LazyPkgs(), **special})
            if args.json:
                text = json.dumps(ev.to_json(args.path), indent=2, ensure_ascii=False)
            else:
                text = render(ev.value(args.path))
    except EvaluationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for warning in ev.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(text)
    return 0
