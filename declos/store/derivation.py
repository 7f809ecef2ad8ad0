"""Derivations: Nix's ATerm `.drv` form, hash modulo, and output/drv path computation.

Paths are computed without building, exactly as `nix-instantiate` does
(src/libstore/derivations.cc), so a Derivation's out_path can be written into
configuration before anything exists.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypedDict, TypeVar

from declos.store.errors import StoreError
from declos.store.location import store_dir as default_store_dir
from declos.store.paths import (
    hash_part,
    make_fixed_output_path,
    make_output_path,
    make_text_path,
    parse_hash,
)

DEFAULT_SYSTEM = "x86_64-linux"
_T = TypeVar("_T")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _q(s: str) -> str:
    """ATerm string literal as Nix's printString writes it."""
    return '"' + "".join(_ESCAPES.get(c, c) for c in s) + '"'


def _list(items: Iterable[str]) -> str:
    return "[" + ",".join(items) + "]"


class StringContext:
    """The store paths one evaluation created, by hash part: Nix's string context.

    Nix tracks which derivations a string came from; Python strings cannot carry that,
    so a string handed to a builder is scanned for the hash parts registered here. A
    context belongs to one evaluation (one `Pkgs`), never to the process: the same
    inputs give the same derivation in any process and in any order of evaluations.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[Derivation | Source | str, str]] = {}

    def add(self, path: str, owner: Derivation | Source | str, output: str = "") -> None:
        """Register `path` as made by `owner` (its `output`, for a derivation)."""
        with self._lock:
            self._owners[hash_part(path)] = (owner, output)

    def add_plain(self, path: str) -> None:
        """A path already in a store (an add_text/add_path result): becomes an input source."""
        self.add(path, path)

    def owners(self, text: str, store_dir: str) -> list[tuple[Derivation | Source | str, str]]:
        """(owner, output) of every `STORE/HASH` mention in `text` registered here."""
        if store_dir + "/" not in text:
            return []
        pattern = re.compile(re.escape(store_dir) + r"/([0-9a-df-np-sv-z]{32})-")
        with self._lock:
            return [
                self._owners[h] for h in dict.fromkeys(pattern.findall(text)) if h in self._owners
            ]


class Source:
    """A local file or directory that becomes a `source` store path when needed.

    Its path is computed from the content at construction (like Nix's path literals),
    but nothing is copied until a build needs it.
    """

    def __init__(
        self,
        src: str,
        name: str | None = None,
        store_dir: str | None = None,
        *,
        context: StringContext | None = None,
    ) -> None:
        import os

        from declos.store.nar import nar_hash
        from declos.store.paths import make_source_path

        self.src = os.path.abspath(src)
        if not os.path.lexists(self.src):
            raise StoreError(f"{src}: no such file or directory")
        self.store_dir = store_dir or default_store_dir()
        self.name = name or os.path.basename(self.src.rstrip("/")) or "source"
        digest, _ = nar_hash(self.src)
        self.out_path = make_source_path(self.name, digest, (), self.store_dir)
        if context is not None:
            context.add(self.out_path, self)

    def __str__(self) -> str:
        return self.out_path

    def __repr__(self) -> str:
        return f"Source({self.src!r} -> {self.out_path})"

    def __fspath__(self) -> str:
        return self.out_path


class Derivation:
    """One `derivation { ... }`: builder, args, env, inputs; paths known at construction.

    Inputs are explicit: `input_drvs`/`input_srcs`, Derivation and Source objects given
    directly as args or env values, and (with a `context`) every path of that context
    a string mentions. Outputs are registered in the context for later derivations."""

    drv_path: str

    def __init__(
        self,
        name: str,
        builder: str | Derivation | Source,
        args: Sequence[str | Derivation | Source] = (),
        env: Mapping[str, str | Derivation | Source] | None = None,
        *,
        system: str = DEFAULT_SYSTEM,
        outputs: Sequence[str] = ("out",),
        input_drvs: Mapping[Derivation, Iterable[str]] | Iterable[Derivation] = (),
        input_srcs: Iterable[str | Source] = (),
        output_hash: str | None = None,
        output_hash_algo: str | None = None,
        output_hash_mode: str | None = None,
        store_dir: str | None = None,
        context: StringContext | None = None,
    ) -> None:
        self.name = name
        self.store_dir = store_dir or default_store_dir()
        self.builder = str(builder)
        self.args = [str(a) for a in args]
        self.platform = system
        user_env = {k: str(v) for k, v in (env or {}).items()}
        self.input_drvs: dict[Derivation, set[str]] = {}
        if isinstance(input_drvs, Mapping):
            for d, outs in input_drvs.items():
                self.input_drvs.setdefault(d, set()).update(outs)
        else:
            for d in input_drvs:
                self.input_drvs.setdefault(d, set()).add("out")
        self.sources: dict[str, Source] = {}
        self.input_srcs: set[str] = set()
        for s in input_srcs:
            self._add_src(s)
        for value in [builder, *args, *(env or {}).values()]:
            if isinstance(value, Derivation):
                self.input_drvs.setdefault(value, set()).add("out")
            elif isinstance(value, Source):
                self._add_src(value)
        if context is not None:
            for text in [self.builder, *self.args, *user_env.values()]:
                for owner, output in context.owners(text, self.store_dir):
                    if isinstance(owner, Derivation):
                        self.input_drvs.setdefault(owner, set()).add(output or "out")
                    else:
                        self._add_src(owner)
        self.output_names = list(outputs)
        self.fixed: tuple[str, str] | None = None  # (method:algo, hex)
        env_all: dict[str, str] = {"builder": self.builder, "name": name, "system": system}
        if tuple(outputs) != ("out",):
            env_all["outputs"] = " ".join(outputs)
        if output_hash is not None:
            algo = output_hash_algo or "sha256"
            mode = output_hash_mode or "flat"
            if mode not in ("flat", "recursive"):
                raise StoreError(
                    f"derivation {name!r}: outputHashMode must be 'flat' or 'recursive', not {mode!r}"
                )
            if tuple(outputs) != ("out",):
                raise StoreError(
                    f"fixed-output derivation {name!r} must have only the output 'out'"
                )
            hex_hash = parse_hash(output_hash, algo)
            self.fixed = (("r:" if mode == "recursive" else "") + algo, hex_hash)
            env_all["outputHash"] = output_hash
            if output_hash_algo is not None:
                env_all["outputHashAlgo"] = output_hash_algo
            if output_hash_mode is not None:
                env_all["outputHashMode"] = output_hash_mode
        env_all.update(user_env)
        self.env = env_all
        self.outputs: dict[str, str] = {}
        self._compute_paths()
        if context is not None:
            for out, path in self.outputs.items():
                context.add(path, self, out)

    def _add_src(self, s: str | Source) -> None:
        if isinstance(s, Source):
            self.sources[s.out_path] = s
            self.input_srcs.add(s.out_path)
        else:
            self.input_srcs.add(str(s))

    # -- path computation -------------------------------------------------------
    def _compute_paths(self) -> None:
        if self.fixed is not None:
            method_algo, hex_hash = self.fixed
            recursive = method_algo.startswith("r:")
            algo = method_algo[2:] if recursive else method_algo
            path = make_fixed_output_path(self.name, recursive, algo, hex_hash, self.store_dir)
            self.outputs = {"out": path}
            self.env["out"] = path
        else:
            for out in self.output_names:
                self.env[out] = ""
            self.outputs = {out: "" for out in self.output_names}
            modulo = self.hash_modulo()
            self.outputs = {
                out: make_output_path(out, modulo, self.name, self.store_dir)
                for out in self.output_names
            }
            for out, path in self.outputs.items():
                self.env[out] = path
        self._modulo_cache: str | None = None
        self.aterm = self.unparse()
        refs = sorted(self.input_srcs | {d.drv_path for d in self.input_drvs})
        self.drv_path = make_text_path(
            self.name + ".drv", self.aterm.encode(), refs, self.store_dir
        )

    def hash_modulo(self) -> str:
        """Nix's hashDerivationModulo (hex), memoised; FODs hash only their fixed output."""
        cached: str | None = getattr(self, "_modulo_cache", None)
        if cached:
            return cached
        if self.fixed is not None:
            method_algo, hex_hash = self.fixed
            text = f"fixed:out:{method_algo}:{hex_hash}:{self.outputs['out']}"
            result = hashlib.sha256(text.encode()).hexdigest()
        else:
            rewritten = {d.hash_modulo(): outs for d, outs in self.input_drvs.items()}
            result = hashlib.sha256(self.unparse(rewritten).encode()).hexdigest()
        if all(self.outputs.values()):
            self._modulo_cache = result
        return result

    def unparse(self, input_drvs: Mapping[str, Iterable[str]] | None = None) -> str:
        if input_drvs is None:
            input_drvs = {d.drv_path: outs for d, outs in self.input_drvs.items()}
        outs = []
        for name in sorted(self.outputs):
            path = self.outputs[name]
            if self.fixed is not None:
                outs.append(f"({_q(name)},{_q(path)},{_q(self.fixed[0])},{_q(self.fixed[1])})")
            else:
                outs.append(f'({_q(name)},{_q(path)},"","")')
        ins = [
            f"({_q(p)},{_list(_q(o) for o in sorted(set(o)))})"
            for p, o in sorted(input_drvs.items())
        ]
        return (
            "Derive("
            + _list(outs)
            + ","
            + _list(ins)
            + ","
            + _list(_q(s) for s in sorted(self.input_srcs))
            + ","
            + _q(self.platform)
            + ","
            + _q(self.builder)
            + ","
            + _list(_q(a) for a in self.args)
            + ","
            + _list(f"({_q(k)},{_q(v)})" for k, v in sorted(self.env.items()))
            + ")"
        )

    # -- convenience --------------------------------------------------------------
    @property
    def out_path(self) -> str:
        return self.outputs["out"] if "out" in self.outputs else next(iter(self.outputs.values()))

    def __getitem__(self, output: str) -> str:
        return self.outputs[output]

    def __str__(self) -> str:
        return self.out_path

    def __fspath__(self) -> str:
        return self.out_path

    def __repr__(self) -> str:
        return f"Derivation({self.name!r}, {self.drv_path})"

    def __hash__(self) -> int:
        return hash(self.drv_path)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Derivation) and other.drv_path == self.drv_path

    @property
    def is_fixed_output(self) -> bool:
        return self.fixed is not None

    def closure(self) -> list[Derivation]:
        """This derivation and all input derivations, dependencies first."""
        order: list[Derivation] = []
        seen: set[str] = set()

        def visit(d: Derivation) -> None:
            if d.drv_path in seen:
                return
            seen.add(d.drv_path)
            for dep in sorted(d.input_drvs, key=lambda x: x.drv_path):
                visit(dep)
            order.append(d)

        visit(self)
        return order


# -- parsing .drv files ---------------------------------------------------------------
class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.s = text
        self.i = 0
        self.where = where

    def fail(self, what: str) -> StoreError:
        return StoreError(f"{self.where}: bad derivation at offset {self.i}: expected {what}")

    def lit(self, token: str) -> None:
        if not self.s.startswith(token, self.i):
            raise self.fail(repr(token))
        self.i += len(token)

    def string(self) -> str:
        self.lit('"')
        out: list[str] = []
        s = self.s
        while True:
            c = s[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                nxt = s[self.i + 1]
                out.append({"n": "\n", "r": "\r", "t": "\t"}.get(nxt, nxt))
                self.i += 2
            else:
                j = self.i
                while s[j] not in '"\\':
                    j += 1
                out.append(s[self.i : j])
                self.i = j

    def items(self, item: Callable[[], _T]) -> list[_T]:
        self.lit("[")
        result: list[_T] = []
        if self.s[self.i] == "]":
            self.i += 1
            return result
        while True:
            result.append(item())
            if self.s[self.i] == ",":
                self.i += 1
                continue
            self.lit("]")
            return result


class ParsedDrv(TypedDict):
    """A `.drv` file as plain data (the ATerm's fields, in Nix's names)."""

    outputs: list[tuple[str, str, str, str]]
    inputDrvs: dict[str, list[str]]
    inputSrcs: list[str]
    platform: str
    builder: str
    args: list[str]
    env: dict[str, str]


def parse_drv(text: str, where: str = "derivation") -> ParsedDrv:
    """Parse ATerm into plain data: outputs, inputDrvs, inputSrcs, platform, builder, args, env.

    Malformed or truncated text is a StoreError naming the offset, never an IndexError."""
    p = _Parser(text, where)
    try:
        return _parse_drv(p)
    except IndexError:
        raise p.fail("more text (the derivation ends early)") from None


def _parse_drv(p: _Parser) -> ParsedDrv:
    p.lit("Derive(")

    def output() -> tuple[str, str, str, str]:
        p.lit("(")
        name = p.string()
        p.lit(",")
        path = p.string()
        p.lit(",")
        algo = p.string()
        p.lit(",")
        h = p.string()
        p.lit(")")
        return name, path, algo, h

    def input_drv() -> tuple[str, list[str]]:
        p.lit("(")
        path = p.string()
        p.lit(",")
        outs = p.items(p.string)
        p.lit(")")
        return path, outs

    def pair() -> tuple[str, str]:
        p.lit("(")
        k = p.string()
        p.lit(",")
        v = p.string()
        p.lit(")")
        return k, v

    outputs = p.items(output)
    p.lit(",")
    input_drvs = p.items(input_drv)
    p.lit(",")
    input_srcs = p.items(p.string)
    p.lit(",")
    platform = p.string()
    p.lit(",")
    builder = p.string()
    p.lit(",")
    args = p.items(p.string)
    p.lit(",")
    env = p.items(pair)
    p.lit(")")
    return {
        "outputs": outputs,
        "inputDrvs": dict(input_drvs),
        "inputSrcs": input_srcs,
        "platform": platform,
        "builder": builder,
        "args": args,
        "env": dict(env),
    }


def load_derivation(
    read_text: Callable[[str], str],
    drv_path: str,
    store_dir: str,
    _memo: dict[str, Derivation] | None = None,
) -> Derivation:
    """Rebuild a Derivation object from a `.drv` in a store (inputs loaded recursively)."""
    memo = _memo if _memo is not None else {}
    if drv_path in memo:
        return memo[drv_path]
    data = parse_drv(read_text(drv_path), drv_path)
    inputs = {
        load_derivation(read_text, p, store_dir, memo): outs
        for p, outs in data["inputDrvs"].items()
    }
    env = dict(data["env"])
    name = env.pop("name", drv_path.rsplit("-", 1)[-1][:-4])
    env.pop("builder", None)
    env.pop("system", None)
    outputs = [o[0] for o in data["outputs"]]
    for o in outputs:
        env.pop(o, None)
    if "outputs" in env:  # the declared order, which the sorted ATerm outputs lose
        outputs = env.pop("outputs").split()
    fixed = data["outputs"][0] if data["outputs"] and data["outputs"][0][2] else None
    output_hash = output_hash_algo = output_hash_mode = None
    if fixed is not None:
        output_hash = env.pop("outputHash", fixed[3])
        output_hash_algo = env.pop("outputHashAlgo", None)
        output_hash_mode = env.pop("outputHashMode", None)
        if output_hash_algo is None and output_hash == fixed[3]:
            output_hash_algo = fixed[2].removeprefix("r:")
    drv = Derivation(
        name,
        data["builder"],
        data["args"],
        env,
        system=data["platform"],
        outputs=outputs,
        input_drvs=inputs,
        input_srcs=data["inputSrcs"],
        store_dir=store_dir,
        output_hash=output_hash,
        output_hash_algo=output_hash_algo,
        output_hash_mode=output_hash_mode,
    )
    if drv.drv_path != drv_path:
        raise StoreError(
            f"{drv_path}: re-serialising the derivation gives {drv.drv_path}; the file is not canonical"
        )
    memo[drv_path] = drv
    return drv
