"""`declos store ...` end to end through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from declos.cli.main import main
from declos.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
from sshd_server import Sshd  # noqa: E402


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Sshd:
    server = Sshd(tmp_path_factory.mktemp("cli-sshd"))
    yield server
    server.stop()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["store", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_add_path_info_closure_dump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path / "r")
    f = tmp_path / "hello.txt"
    f.write_text("hello\n")
    rc, out, _ = run(capsys, "add", "--root", root, str(f))
    path = out.strip()
    assert rc == 0 and path.startswith("/declos/store/") and path.endswith("-hello.txt")
    rc, out, _ = run(capsys, "--root", root, "path-info", "--json", path)
    [info] = json.loads(out)
    assert info["path"] == path and info["narSize"] == 120 and info["references"] == []
    rc, out, _ = run(capsys, "--root", root, "add", "--flat", "--name", "flat", str(f))
    assert out.strip().endswith("-flat")
    rc, out, _ = run(capsys, "--root", root, "closure", path)
    assert out.split() == [path]
    proc = subprocess.run(
        [sys.executable, "-m", "declos", "store", "dump", "--root", root, path],
        capture_output=True,
        check=True,
    )
    from declos.store.nar import dump_bytes

    assert proc.stdout == dump_bytes(f)


def test_errors_are_clear_and_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path / "r")
    rc, _, err = run(capsys, "--root", root, "add", str(tmp_path / "missing"))
    assert rc == 1 and "missing: no such file or directory" in err
    rc, _, err = run(capsys, "--root", root, "add", "--name", "bad name", __file__)
    assert rc == 1 and "forbidden character" in err
    rc, _, err = run(capsys, "--root", root, "path-info", "/declos/store/" + "0" * 32 + "-x")
    assert rc == 1 and "is not valid" in err
    rc, _, err = run(capsys, "--root", root, "profile", "delete", "system")
    assert rc == 1 and "--older-than" in err


def test_build_file_profile_gc_roots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "r")
    prog = tmp_path / "pkgs.py"
    prog.write_text(
        "motd = pkgs.write_text('motd', 'welcome\\n')\n"
        "hello = pkgs.write_shell_script_bin('hello', f'cat {motd}\\n')\n"
        "unused = pkgs.write_text('unused', 'u')\n"
    )
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(capsys, "--root", root, "build", str(prog), "-A", "hello", "-o", "result")
    assert rc == 0, err
    hello = out.strip()
    assert Path("result").is_symlink() and Path("result").readlink() == Path(hello)
    rc, out, _ = run(capsys, "--root", root, "roots", "--json")
    assert list(json.loads(out).values()) == [hello]
    rc, out, _ = run(capsys, "--root", root, "build", str(prog), "-A", "nope")
    assert rc == 1
    rc, out, _ = run(capsys, "--root", root, "profile", "set", "system", hello)
    assert out.strip() == "profile 'system' is now generation 1"
    rc, out, _ = run(capsys, "--root", root, "profile", "list", "system", "--json")
    assert [(g["generation"], g["path"], g["current"]) for g in json.loads(out)] == [
        (1, hello, True)
    ]
    store = Store.open(root)
    junk = store.add_text("junk", "j")
    rc, out, _ = run(capsys, "--root", root, "gc", "--dry-run")
    lines = out.splitlines()
    assert lines[0] == f"would delete '{junk}'" or f"would delete '{junk}'" in lines
    assert store.is_valid(junk)
    rc, out, _ = run(capsys, "--root", root, "gc")
    assert f"deleting '{junk}'" in out and "MiB freed" in out
    assert not store.is_valid(junk) and store.is_valid(hello)
    rc, out, _ = run(capsys, "--root", root, "verify", "--check-contents")
    assert rc == 0 and out.strip().endswith(": ok")
    rc, _, err = run(capsys, "--root", root, "verify", "--repair")
    assert rc == 1 and "--repair needs --source-root" in err


def test_realise_export_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from declos.pkgs import Pkgs

    root = str(tmp_path / "r")
    store = Store.open(root)
    d = Pkgs(store).run_command("cli-built", "echo built > $out")
    drv = store.write_derivation(d)
    rc, out, err = run(capsys, "--root", root, "realise", drv)
    assert rc == 0, err
    assert out.strip() == d.out_path
    exported = tmp_path / "x.export"
    rc, _, _ = run(capsys, "--root", root, "export", "-r", "-o", str(exported), d.out_path)
    rc, out, _ = run(capsys, "--root", str(tmp_path / "other"), "import", str(exported))
    assert out.split() == [d.out_path]
    assert Store.open(tmp_path / "other").real_path(d.out_path).read_text() == "built\n"


@pytest.mark.sshd
def test_copy_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], sshd) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "r")
    p = Store.open(root).add_text("copied", "over ssh")
    args = [
        "--root",
        root,
        "copy",
        "--to",
        f"{sshd.url}?root={tmp_path / 'dst'}",
        "-i",
        str(sshd.client_key),
        "--known-hosts",
        str(sshd.known_hosts),
        "--compress",
        "--json",
        p,
    ]
    rc, out, err = run(capsys, *args)
    assert rc == 0, err
    assert json.loads(out)["sent"] == [p]
    rc, out, err = run(capsys, *args)
    assert json.loads(out)["sent"] == [] and json.loads(out)["alreadyPresent"] == 1
    back = str(tmp_path / "back")
    rc, out, err = run(
        capsys,
        "--root",
        back,
        "copy",
        "--from",
        f"{sshd.url}?root={tmp_path / 'dst'}",
        "-i",
        str(sshd.client_key),
        "--known-hosts",
        str(sshd.known_hosts),
        p,
    )
    assert rc == 0, err
    assert (
        out.startswith("copied 1 paths") and Store.open(back).real_path(p).read_text() == "over ssh"
    )
    rc, out, err = run(
        capsys,
        "--root",
        root,
        "copy",
        "--to",
        "ssh://127.0.0.1:1",
        "--known-hosts",
        str(tmp_path / "kh"),
        p,
    )
    assert rc == 1 and "cannot connect to 127.0.0.1:1" in err
