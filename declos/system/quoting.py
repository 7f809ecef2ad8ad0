"""Quoting for the text the builder generates: shell words and systemd unit values.

Values are quoted, never concatenated raw: a shell word inside double quotes escapes
`\\`, `"`, `$` and backquote (the only characters special there), which keeps existing
scripts byte-identical for ordinary values (`"/dev/vdb"`) while `$(...)` stays text.
"""

from __future__ import annotations


def sh_dq(value: str) -> str:
    """`value` as one double-quoted POSIX shell word, exactly."""
    for char in ("\\", '"', "$", "`"):
        value = value.replace(char, "\\" + char)
    return f'"{value}"'
