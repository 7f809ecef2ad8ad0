"""`system.activationScripts` -> store scripts in the order their `deps` require.

The order is NixOS's textClosureList: names sorted, each entry preceded by its deps
(depth first, in the order deps are listed), every entry once. Unlike Nix, an unknown
dep or a cycle is an error naming the snippets, not a silent truncation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from declos.system.errors import RenderError
from declos.system.writer import Writer


class ActivationScriptError(RenderError):
    """Unknown dependency or a dependency cycle between activation snippets."""


def order_snippets(snippets: Mapping[str, Any]) -> list[str]:
    normal: dict[str, list[str]] = {}
    for name, value in snippets.items():
        deps = list(value["deps"])
        for dep in deps:
            if dep not in snippets:
                raise ActivationScriptError(
                    f"system.activationScripts.{name}: depends on {dep!r}, which is not defined "
                    f"(defined: {', '.join(sorted(snippets)) or 'none'})",
                    ("system", "activationScripts", name),
                )
        normal[name] = deps
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            loop = chain[chain.index(name) :] + [name]
            raise ActivationScriptError(
                "system.activationScripts: dependency cycle " + " -> ".join(loop),
                ("system", "activationScripts", name),
            )
        state[name] = 1
        for dep in normal[name]:
            visit(dep, [*chain, name])
        state[name] = 2
        order.append(name)

    for name in sorted(normal):
        visit(name, [])
    return order


def render_activation_scripts(writer: Writer, snippets: Mapping[str, Any]) -> list[dict[str, Any]]:
    """[{"name", "path", "supportsDryActivation"}] in run order; each snippet its own script."""
    out: list[dict[str, Any]] = []
    for name in order_snippets(snippets):
        value = snippets[name]
        text = str(value["text"])
        dry = bool(value["supportsDryActivation"])
        body = f"#!/bin/bash\n#### Activation script snippet {name}:\n{text.rstrip(chr(10))}\n"
        path = writer.script(name, body, store_name=f"activation-script-{name}")
        out.append({"name": name, "path": path, "supportsDryActivation": dry})
    return out
