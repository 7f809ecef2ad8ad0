"""`declos store ...`: a thin layer over declos.store (parse, call, print)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from declos.cli.main import UsageError
from declos.hosts import HostKeyPolicy, ssh_host_from_url
from declos.hosts.errors import HostError
from declos.pkgs import Pkgs
from declos.store import Derivation, Store, location
from declos.store.errors import StoreError
from declos.store.export import export_paths, import_paths
from declos.store.gc import add_indirect_root, collect_garbage, find_roots
from declos.store.nar import dump, dump_to_fd
from declos.store.profiles import parse_age
from declos.store.readonly import locate_valid
from declos.store.schema import db_file
from declos.store.verify import verify


def register(subparsers: Any) -> None:
    root_help = "physical root of a chroot store (paths keep their logical names)"
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", metavar="DIR", default=argparse.SUPPRESS, help=root_help)
    p = subparsers.add_parser("store", help="the content-addressed store")
    p.add_argument("--root", metavar="DIR", help=root_help)
    sub = p.add_subparsers(dest="store_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda a: _usage(p))

    def cmd(name: str, handler: Any, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, parents=[common])
        sp.set_defaults(func=_wrap(handler))
        return sp

    sp = cmd("add", _add, "add a file or directory (nix-store --add)")
    sp.add_argument("--name", help="store path name (default: the file's base name)")
    sp.add_argument(
        "--flat", action="store_true", help="add a regular file as a text path (builtins.toFile)"
    )
    sp.add_argument("paths", nargs="+", metavar="PATH")
    sp = cmd("add-text", _add_text, "add FILE's bytes (or stdin with -) as text path NAME")
    sp.add_argument("name")
    sp.add_argument("file")
    sp = cmd("dump", _dump, "write the NAR serialisation of PATH to stdout")
    sp.add_argument("path")
    sp = cmd("export", _export, "write paths (with metadata) as an export stream")
    sp.add_argument("-r", "--recursive", action="store_true", help="export the whole closure")
    sp.add_argument("-o", "--output", help="file to write (default: stdout)")
    sp.add_argument("paths", nargs="+", metavar="PATH")
    sp = cmd("import", _import, "import an export stream (verifies every narHash)")
    sp.add_argument("file", nargs="?", default="-")
    sp = cmd("path-info", _path_info, "show what the store knows about paths")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("-r", "--recursive", action="store_true", help="include the closure")
    sp.add_argument("paths", nargs="+", metavar="PATH")
    sp = cmd("closure", _closure, "list the closure of paths, dependencies first")
    sp.add_argument("--json", action="store_true")
    sp.add_argument(
        "--referrers", action="store_true", help="follow referrers instead of references"
    )
    sp.add_argument("paths", nargs="+", metavar="PATH")
    sp = cmd("realise", _realise, "build .drv files that are in the store")
    sp.add_argument(
        "--keep-failed", action="store_true", help="keep the build directory of a failed build"
    )
    sp.add_argument("drvs", nargs="+", metavar="DRV")
    sp = cmd("build", _build, "realise the derivations a Python file defines")
    sp.add_argument("file")
    sp.add_argument(
        "-A", "--attr", action="append", help="attribute to build (default: every Derivation)"
    )
    sp.add_argument("-o", "--out-link", help="create this symlink to the output (a GC root)")
    sp.add_argument("--keep-failed", action="store_true")
    sp.add_argument("--json", action="store_true")
    _register_profile(
        cmd("profile", lambda a: _usage(a._profile_parser), "generations of a profile")
    )
    sp = cmd("gc", _gc, "delete paths not reachable from a GC root")
    sp.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    sp.add_argument("--max-freed", metavar="BYTES", help="stop after freeing this much (e.g. 500M)")
    sp.add_argument("--json", action="store_true")
    sp = cmd("roots", _roots, "list GC roots")
    sp.add_argument("--json", action="store_true")
    sp = cmd("verify", _verify, "check that valid paths exist and (optionally) re-hash them")
    sp.add_argument("--check-contents", action="store_true", help="re-hash every path's NAR")
    sp.add_argument("--repair", action="store_true", help="restore bad paths from --source-root")
    sp.add_argument(
        "--source-root", metavar="DIR", help="root of the store to repair from (/ = the host store)"
    )
    sp.add_argument("--json", action="store_true")
    sp = cmd("copy", _copy, "copy closures to or from another store over SSH")
    g = sp.add_mutually_exclusive_group(required=True)
    g.add_argument("--to", metavar="URL", help="ssh://[user@]host[:port][?root=/dir]")
    g.add_argument("--from", dest="from_", metavar="URL")
    sp.add_argument("-i", "--identity-file")
    sp.add_argument("--known-hosts", help="known_hosts file (default: ~/.ssh/known_hosts)")
    sp.add_argument(
        "--accept-new",
        action="store_true",
        help="accept and remember an unknown host key (first contact only)",
    )
    sp.add_argument(
        "--compress", action="store_true", help="zstd-compress the stream (needs zstd on both ends)"
    )
    sp.add_argument("--remote-root", help="physical root of the remote store")
    sp.add_argument("--remote-python", default="python3")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("paths", nargs="+", metavar="PATH")


def _register_profile(p: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", metavar="DIR", default=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="profile_command", metavar="ACTION")
    p.set_defaults(_profile_parser=p)
    sp = sub.add_parser("list", parents=[common], help="list generations")
    sp.add_argument("name", nargs="?", default="system")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=_wrap(_profile_list))
    sp = sub.add_parser("set", parents=[common], help="make PATH the new generation")
    sp.add_argument("name")
    sp.add_argument("path")
    sp.set_defaults(func=_wrap(_profile_set))
    sp = sub.add_parser("rollback", parents=[common], help="switch to the previous generation")
    sp.add_argument("name", nargs="?", default="system")
    sp.set_defaults(func=_wrap(_profile_rollback))
    sp = sub.add_parser("switch", parents=[common], help="switch to generation N")
    sp.add_argument("name")
    sp.add_argument("number", type=int)
    sp.set_defaults(func=_wrap(_profile_switch))
    sp = sub.add_parser(
        "delete", parents=[common], help="delete generations (never the current one)"
    )
    sp.add_argument("name")
    sp.add_argument("numbers", nargs="*", type=int)
    sp.add_argument("--older-than", metavar="AGE", help="e.g. 30d, 12h")
    sp.set_defaults(func=_wrap(_profile_delete))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _wrap(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:

        try:
            return handler(args)
        except (StoreError, HostError) as exc:
            raise UsageError(str(exc)) from exc

    return run


def _store(args: argparse.Namespace, *, readonly: bool = False, asked: Sequence[str] = ()) -> Any:
    """Open the store; a read-only command refuses a store that does not exist yet
    instead of creating its directories and database (issue 8: read-only commands never
    create state). `asked` are the paths the command is about, named in that error."""

    root = getattr(args, "root", None)
    if readonly:
        state = (os.path.abspath(root) if root else "") + location.state_dir()
        if not os.path.exists(db_file(state)):
            about = ", ".join(f"'{p}'" for p in asked)
            raise UsageError(
                (f"{about}: not valid: " if about else "")
                + f"there is no store database under {state} (nothing was built or added "
                "there yet); check --root, DECLOS_STATE_DIR and DECLOS_STORE_DIR"
            )
    return Store.open(root)


def _run_user_file(path: str, init_globals: dict[str, Any]) -> dict[str, Any]:
    """Run a user's Python file; what it raises is the user's error, reported at its line."""
    import runpy
    import traceback

    try:
        return runpy.run_path(path, init_globals=init_globals)
    except SyntaxError as exc:
        raise UsageError(f"{exc.filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    except (Exception, SystemExit) as exc:  # the user's code: what it raises is their error
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
        where = f"{path}:{frames[-1].lineno}" if frames else path
        if isinstance(exc, SystemExit):
            raise UsageError(f"{where}: the file called sys.exit({exc.code!r})") from None
        raise UsageError(f"{where}: {type(exc).__name__}: {exc}") from None


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def _resolve(store: Any, path: str) -> str:
    if os.path.islink(path) and not path.startswith(store.store_dir + "/"):
        path = os.readlink(path)
    return store.to_store_path(path)


def _progress(description: str, total: int | None) -> Any:
    """A rich progress bar on a terminal; a no-op otherwise (keeps pipes and tests clean)."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    prog = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    prog.start()
    prog.add_task(description, total=total)
    return prog


@contextlib.contextmanager
def _ticker(
    description: str, total: int | None, *, show: bool = True
) -> Iterator[Callable[[Any], None] | None]:
    """A per-item progress callback for the library (None off a terminal); stops the bar on exit."""
    prog = _progress(description, total) if show else None
    if prog is None:
        yield None
        return
    try:
        yield lambda _item: prog.advance(prog.task_ids[0])
    finally:
        prog.stop()


def _announce(what: str, drv: Any) -> None:
    print(f"{what} '{drv.drv_path}'...", file=sys.stderr)


# -- handlers --------------------------------------------------------------------------------
def _add(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.name and len(args.paths) > 1:
        raise UsageError("--name applies to one PATH only")
    for p in args.paths:
        print(store.add_path(p, args.name, flat=args.flat))
    return 0


def _add_text(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(args.file, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise UsageError(f"{args.file}: {exc.strerror}") from exc
    print(store.add_text(args.name, data))
    return 0


def _dump(args: argparse.Namespace) -> int:
    """A read-only lookup (no Database opened, no lock taken): dump is a one-shot read, timed
    against `nix-store --dump`."""
    _, real = locate_valid(args.path, getattr(args, "root", None))
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (
        AttributeError,
        io.UnsupportedOperation,
    ):  # stdout replaced in-process (tests, embedding)
        dump(real, sys.stdout.buffer.write)
        return 0
    dump_to_fd(real, fd)
    return 0


def _export(args: argparse.Namespace) -> int:

    store = _store(args, readonly=True)
    paths = [_resolve(store, p) for p in args.paths]
    paths = store.closure(paths) if args.recursive else paths
    if args.output:
        with open(args.output, "wb") as f:
            export_paths(store, paths, f.write)
    else:
        export_paths(store, paths, sys.stdout.buffer.write)
        sys.stdout.buffer.flush()
    return 0


def _import(args: argparse.Namespace) -> int:

    store = _store(args)
    if args.file == "-":
        paths = import_paths(store, sys.stdin.buffer)
    else:
        with open(args.file, "rb") as f:
            paths = import_paths(store, f)
    for p in paths:
        print(p)
    return 0


def _path_info(args: argparse.Namespace) -> int:
    store = _store(args, readonly=True, asked=args.paths)
    paths = [_resolve(store, p) for p in args.paths]
    if args.recursive:
        paths = store.closure(paths)
    infos = [store.path_info(p) for p in paths]
    if args.json:
        _print_json([i.to_json() for i in infos])
    else:
        for i in infos:
            print(f"{i.path}\t{i.nar_size}\t{i.nar_hash}")
    return 0


def _closure(args: argparse.Namespace) -> int:
    store = _store(args, readonly=True, asked=args.paths)
    paths = store.closure([_resolve(store, p) for p in args.paths], referrers=args.referrers)
    if args.json:
        _print_json(paths)
    else:
        print("\n".join(paths))
    return 0


def _realise(args: argparse.Namespace) -> int:
    store = _store(args, readonly=True, asked=args.drvs)
    drvs = [store.load_derivation(_resolve(store, d)) for d in args.drvs]
    for out in store.realise(drvs, keep_failed=args.keep_failed, progress=_announce):
        print(out)
    return 0


def _build(args: argparse.Namespace) -> int:

    if not os.path.isfile(args.file):
        raise UsageError(f"{args.file}: no such file")
    store = _store(args)

    namespace = _run_user_file(os.path.abspath(args.file), {"pkgs": Pkgs(store)})
    found = {
        k: v for k, v in namespace.items() if isinstance(v, Derivation) and not k.startswith("_")
    }
    if args.attr:
        missing = [a for a in args.attr if a not in found]
        if missing:
            raise UsageError(
                f"{args.file}: attribute(s) {', '.join(missing)} not found; "
                f"derivations defined: {', '.join(sorted(found)) or 'none'}"
            )
        selected = [found[a] for a in args.attr]
    else:
        selected = [found[k] for k in sorted(found)]
    if not selected:
        raise UsageError(f"{args.file} defines no Derivation at top level")
    outs = store.realise(selected, keep_failed=args.keep_failed, progress=_announce)
    if args.out_link:
        for n, out in enumerate(outs):
            link = args.out_link if n == 0 else f"{args.out_link}-{n + 1}"
            if os.path.islink(link):
                os.unlink(link)
            os.symlink(out, link)
            add_indirect_root(store, link)
    if args.json:
        _print_json([{"drvPath": d.drv_path, "outputs": d.outputs} for d in selected])
    else:
        print("\n".join(outs))
    return 0


def _profile_list(args: argparse.Namespace) -> int:
    gens = _store(args, readonly=True).profiles.generations(args.name)
    if args.json:
        _print_json([g.to_json() for g in gens])
        return 0
    import time

    for g in gens:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(g.created))
        print(f"{g.number:5d}   {when}   {g.path}{'   (current)' if g.current else ''}")
    return 0


def _profile_set(args: argparse.Namespace) -> int:
    store = _store(args)
    n = store.profiles.set(args.name, _resolve(store, args.path))
    print(f"profile '{args.name}' is now generation {n}")
    return 0


def _profile_rollback(args: argparse.Namespace) -> int:
    n = _store(args).profiles.rollback(args.name)
    print(f"switched profile '{args.name}' to generation {n}")
    return 0


def _profile_switch(args: argparse.Namespace) -> int:
    _store(args).profiles.switch_to(args.name, args.number)
    print(f"switched profile '{args.name}' to generation {args.number}")
    return 0


def _profile_delete(args: argparse.Namespace) -> int:

    if not args.numbers and not args.older_than:
        raise UsageError("give generation numbers or --older-than AGE")
    age = parse_age(args.older_than) if args.older_than else None
    deleted = _store(args).profiles.delete(args.name, args.numbers, older_than=age)
    print(f"deleted generation(s): {', '.join(map(str, deleted)) or 'none'}")
    return 0


def _parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper().removesuffix("B")
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t)
    except ValueError as exc:
        raise UsageError(f"invalid size {text!r}: use bytes or a K/M/G suffix, e.g. 500M") from exc


def _gc(args: argparse.Namespace) -> int:

    store = _store(args)
    max_freed = _parse_size(args.max_freed) if args.max_freed else None
    with _ticker("collecting garbage", None, show=not args.dry_run) as tick:
        result = collect_garbage(store, dry_run=args.dry_run, max_freed=max_freed, progress=tick)
    if args.json:
        _print_json(
            {"deleted": result.deleted, "bytesFreed": result.bytes_freed, "dryRun": result.dry_run}
        )
        return 0
    verb = "would delete" if args.dry_run else "deleting"
    for p in result.deleted:
        print(f"{verb} '{p}'")
    mib = result.bytes_freed / (1 << 20)
    if args.dry_run:
        print(f"{len(result.deleted)} store paths would be deleted, {mib:.2f} MiB would be freed")
    else:
        print(f"{len(result.deleted)} store paths deleted, {mib:.2f} MiB freed")
    return 0


def _roots(args: argparse.Namespace) -> int:

    roots = find_roots(_store(args, readonly=True))
    if args.json:
        _print_json(roots)
    else:
        for link, path in sorted(roots.items()):
            print(f"{link} -> {path}")
    return 0


def _verify(args: argparse.Namespace) -> int:

    store = _store(args, readonly=True)
    source = None
    if args.repair:
        if not args.source_root:
            raise UsageError(
                "--repair needs --source-root DIR: the root of a store holding good copies "
                "(/ for the host store)"
            )
        source = Store.open(None if args.source_root == "/" else args.source_root)
    total = len(store.all_paths())
    with _ticker("verifying", total, show=total > 50) as tick:
        result = verify(
            store, check_contents=args.check_contents, repair_from=source, progress=tick
        )
    if args.json:
        _print_json(
            {
                "checked": result.checked,
                "missing": result.missing,
                "corrupt": [c[0] for c in result.corrupt],
                "repaired": result.repaired,
                "ok": result.ok,
            }
        )
    else:
        for p in result.missing:
            print(f"path '{p}' disappeared{' (repaired)' if p in result.repaired else ''}")
        for p, want, got in result.corrupt:
            print(
                f"path '{p}' was modified! expected hash '{want}', got '{got}'"
                f"{' (repaired)' if p in result.repaired else ''}"
            )
        print(f"checked {result.checked} paths: {'ok' if result.ok else 'PROBLEMS FOUND'}")
    return 0 if result.ok else 1


def _copy(args: argparse.Namespace) -> int:

    store = _store(args)
    prog = None

    def on_missing(total: int) -> None:
        nonlocal prog
        prog = _progress("copying", total) if total else None

    def progress(path: str) -> None:
        if prog is not None:
            prog.update(prog.task_ids[0], advance=1, description=os.path.basename(path)[33:])

    host = ssh_host_from_url(
        args.to or args.from_,
        key_file=args.identity_file,
        known_hosts_file=args.known_hosts,
        policy=HostKeyPolicy.ACCEPT_NEW if args.accept_new else HostKeyPolicy.STRICT,
        root=args.remote_root,
        python=args.remote_python,
    )
    try:
        if args.to:
            paths = [_resolve(store, p) for p in args.paths]
            result = host.copy_closure_to(
                store, paths, compress=args.compress, progress=progress, on_missing=on_missing
            )
        else:
            prog = _progress("copying", None)
            result = host.copy_closure_from(store, list(args.paths), progress=progress)
    finally:
        host.close()
        if prog is not None:
            prog.stop()
    if args.json:
        _print_json(
            {
                "closure": result.closure,
                "sent": result.sent,
                "alreadyPresent": result.already_present,
                "narBytes": result.nar_bytes,
                "seconds": round(result.seconds, 3),
            }
        )
    else:
        print(
            f"copied {len(result.sent)} paths ({result.nar_bytes / (1 << 20):.1f} MiB), "
            f"{result.already_present} already present, in {result.seconds:.2f}s"
        )
    return 0
