"""cli/main.py is the one place where failures become messages (issue 8: no traceback
reaches a user). The handlers here stand in for commands; the real commands are covered
from outside by the hardening corpus."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from declos.cli.main import UsageError, main, run_handler
from declos.store.errors import StoreError


def _args(show_trace: bool = False) -> argparse.Namespace:
    return argparse.Namespace(show_trace=show_trace)


def test_a_domain_error_is_one_error_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(_: argparse.Namespace) -> int:
        raise StoreError("path '/declos/store/x' is not valid")

    assert run_handler(handler, _args()) == 1
    assert capsys.readouterr().err == "error: path '/declos/store/x' is not valid\n"


def test_an_os_error_names_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(_: argparse.Namespace) -> int:
        open("/nonexistent-dir-for-declos/x")  # noqa: SIM115
        return 0

    assert run_handler(handler, _args()) == 1
    assert (
        capsys.readouterr().err
        == "error: /nonexistent-dir-for-declos/x: No such file or directory\n"
    )


def test_a_bug_is_one_line_with_the_traceback_in_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)

    def handler(_: argparse.Namespace) -> int:
        return {}["missing"]  # type: ignore[no-any-return]

    assert run_handler(handler, _args()) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: internal error (KeyError: 'missing'); the traceback is in ")
    saved = next(tmp_path.glob("declos-internal-error-*.txt"))
    assert str(saved) in err
    assert "Traceback (most recent call last)" in saved.read_text()


def test_show_trace_prints_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(_: argparse.Namespace) -> int:
        raise ZeroDivisionError("boom")

    assert run_handler(handler, _args(show_trace=True)) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.rstrip().endswith("error: internal error: ZeroDivisionError: boom")


def test_usage_error_and_sys_exit_inside_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    def usage(_: argparse.Namespace) -> int:
        raise UsageError("give -c FILE")

    def exits(_: argparse.Namespace) -> int:
        raise SystemExit(3)

    assert run_handler(usage, _args()) == 1
    assert run_handler(exits, _args()) == 1
    err = capsys.readouterr().err
    assert "error: give -c FILE\n" in err
    assert "error: the command was stopped by exit(3)" in err


def test_root_that_is_a_file_is_refused_before_the_command_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "rootfile"
    root.write_text("x")
    assert main(["generations", "--root", str(root)]) == 1
    assert capsys.readouterr().err == (
        f"error: --root {root} is not a directory; give the directory of the tree or store\n"
    )


def test_show_trace_is_accepted_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "m.yaml"
    module.write_text("networking.hostName: x\n")
    assert main(["eval", str(module), "--show-trace", "-A", "networking.hostName"]) == 0
    assert capsys.readouterr().out == '"x"\n'
