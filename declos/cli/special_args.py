"""`--arg NAME VALUE` / `--argstr NAME VALUE`: the special-args flags every evaluating
command takes (eval, build, switch, ...), declared once so their help stays the same."""

from __future__ import annotations

import argparse


def add_special_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--arg",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="give module functions the special arg NAME (VALUE is YAML: 3, true, [a, b])",
    )
    parser.add_argument(
        "--argstr",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="give module functions the special arg NAME, the string VALUE",
    )
