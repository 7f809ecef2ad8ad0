"""stdenv.mk_derivation: a C program built from source in the sandbox with the locked
gcc, headers and libraries from the store only, RUNPATH fixed to what it links."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from declos.pkgs import Pkgs
from declos.pkgs.stdenv.stdenv import StdenvError
from declos.store.errors import BuildError

SRC = Path(__file__).parent / "jqhello"
T = "usr/lib/x86_64-linux-gnu"


def runpath(binary: str) -> list[str]:
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True)
    [line] = [ln for ln in out.stdout.splitlines() if "(RUNPATH)" in ln]
    return line.split("[", 1)[1].rstrip("]").split(":")


def jqhello(pkgs, stdenv, libjq_dev, zlib1g_dev, greeting="hello"):  # type: ignore[no-untyped-def]
    """The package function (the talk's nginx.nix shape): inputs by name, overridable."""
    return stdenv.mk_derivation(
        "jqhello",
        version="1.0",
        src=pkgs.path(SRC),
        build_inputs=[libjq_dev, zlib1g_dev],
        configure_flags=[f"--with-greeting={greeting}"],
        do_check=True,
    )


def test_builds_with_the_locked_toolchain_and_runs_from_the_store(build_pkgs: Pkgs) -> None:
    drv = build_pkgs.stdenv.call_package(jqhello)
    [out] = build_pkgs.realise(drv)
    r = subprocess.run([f"{out}/bin/jqhello"], env={}, capture_output=True, text=True, check=False)
    assert (r.returncode, r.stdout, r.stderr) == (0, "jq says 42, zlib 1.2.13\n", "")
    deb = build_pkgs.debian
    trace = subprocess.run(
        [f"{out}/bin/jqhello"], env={"LD_TRACE_LOADED_OBJECTS": "1"}, capture_output=True, text=True
    )
    # the store's libjq is the one loaded, although the host has its own copy
    assert f"libjq.so.1 => {deb['libjq1'].out_path}/{T}/libjq.so.1 " in trace.stdout
    # fixup kept the two directories whose libraries it needs (libonig5's was dropped)
    assert runpath(f"{out}/bin/jqhello") == [
        f"{deb['libjq1'].out_path}/{T}",
        f"{deb['zlib1g'].out_path}/{T}",
    ]
    log = Path(build_pkgs.store.log_path(drv.drv_path)).read_text()
    phases = [ln.split()[1] for ln in log.splitlines() if ln.startswith("declos: ")]
    assert phases == [
        "unpackPhase",
        "patchPhase",
        "configurePhase",
        "buildPhase",
        "checkPhase",
        "installPhase",
        "fixupPhase",
    ]
    refs = set(build_pkgs.store.references(out))
    assert deb["libjq1"].out_path in refs and deb["gcc"].out_path not in refs


def test_host_headers_are_not_visible(build_pkgs: Pkgs, tmp_path: Path) -> None:
    src = tmp_path / "yamlprog"
    src.mkdir()
    (src / "Makefile").write_text("all:\n\t$(CC) -c main.c\ninstall:\n\ttrue\n")
    (src / "main.c").write_text("#include <yaml.h>\nint main(void) { return 0; }\n")
    assert Path("/usr/include/yaml.h").exists()  # the host has it; the build must not
    drv = build_pkgs.stdenv.mk_derivation("yamlprog", src=build_pkgs.path(src))
    with pytest.raises(BuildError, match="yaml.h: No such file or directory"):
        build_pkgs.realise(drv)


def test_override_of_an_input_changes_the_path_and_the_linked_library(
    build_pkgs: Pkgs,
) -> None:
    plain = build_pkgs.stdenv.call_package(jqhello)
    other_jq = build_pkgs.debian.package("libjq-dev", hermetic=True)
    changed = plain.override(libjq_dev=other_jq)  # type: ignore[attr-defined]
    greeted = plain.override(greeting="hi")  # type: ignore[attr-defined]
    assert len({plain.out_path, changed.out_path, greeted.out_path}) == 3
    [out] = build_pkgs.realise(changed)
    libjq1 = build_pkgs.debian.package("libjq1", hermetic=True).out_path
    assert runpath(f"{out}/bin/jqhello")[0] == f"{libjq1}/{T}"
    assert libjq1 != build_pkgs.debian["libjq1"].out_path
    r = subprocess.run([f"{out}/bin/jqhello"], env={}, capture_output=True, text=True, check=False)
    assert r.stdout == "jq says 42, zlib 1.2.13\n"


def test_unknown_hook_is_refused(build_pkgs: Pkgs) -> None:
    with pytest.raises(StdenvError, match="unknown argument 'post_instal'"):
        build_pkgs.stdenv.mk_derivation("x", src=build_pkgs.path(SRC), post_instal="true")


def test_without_a_locked_toolchain_the_error_says_what_to_lock(tmp_path: Path) -> None:
    pkgs = Pkgs(store_dir=str(tmp_path / "store"), lock=tmp_path / "absent.lock")
    with pytest.raises(StdenvError, match="building from source needs gcc, make, binutils"):
        pkgs.stdenv.mk_derivation("x", src=pkgs.path(SRC))
