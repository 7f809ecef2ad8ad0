"""Script interpreters in the store: perl programs get PERL5LIB wrappers, python
scripts run the closure's python3 with its dist-packages, and python3.with_packages
is a merged environment. Real packages from the archive (exiftool, cloc, docutils,
PyYAML with its C extension)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from declos.pkgs import Pkgs
from declos.pkgs.debian.interpreters import BIN_DIRS, fix_scripts
from declos.pkgs.debian.locking import Archive, make_lock
from declos.pkgs.debian.wrappers import DEFAULT_SCRIPT_DIRS
from declos.store import Store

ROOTS = ("libimage-exiftool-perl", "cloc", "python3-docutils", "python3-yaml", "python3")
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LC_ALL": "C.UTF-8"}


@pytest.fixture(scope="module")
def ipkgs(archive: Archive, deb_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Pkgs:
    path = tmp_path_factory.mktemp("interp") / "declos.lock"
    make_lock(archive, ROOTS, path=str(path)).write(path)
    return Pkgs(deb_store, lock=path)


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=ENV)


def _support(pkg: object) -> dict[str, object]:
    return json.loads(Path(f"{pkg}/declos-support/package.json").read_text())  # type: ignore[no-any-return]


def test_perl_programs_find_their_modules(ipkgs: Pkgs, deb_store: Store) -> None:
    exiftool, cloc = ipkgs.libimage_exiftool_perl, ipkgs.cloc
    deb_store.realise([exiftool, cloc])
    assert _support(exiftool)["perl_wrapped"] == ["usr/bin/exiftool"]
    proc = _run([f"{exiftool}/bin/exiftool", "-ver"])
    assert (proc.returncode, proc.stdout) == (0, "12.57\n"), proc.stderr
    # control: the same script without the wrapper cannot find Image::ExifTool
    bare = _run(["/usr/bin/perl", f"{exiftool}/usr/bin/.exiftool-wrapped", "-ver"])
    assert "Can't locate Image/ExifTool.pm in @INC" in bare.stderr
    wrapper = Path(f"{exiftool}/usr/bin/exiftool").read_text()
    assert f"{exiftool}/usr/share/perl5:" in wrapper
    # cloc needs modules of other packages of its closure (Regexp::Common, Moo's XS deps)
    proc = _run([f"{cloc}/bin/cloc", "--version"])
    assert (proc.returncode, proc.stdout) == (0, "1.96\n"), proc.stderr
    assert f"{ipkgs.libregexp_common_perl}/usr/share/perl5" in Path(f"{cloc}/bin/cloc").read_text()


def test_python_scripts_run_the_closures_python(ipkgs: Pkgs, deb_store: Store) -> None:
    docutils = ipkgs.python3_docutils
    deb_store.realise([docutils])
    scripts = _support(docutils)["python_scripts"]
    assert "usr/bin/docutils" in scripts  # type: ignore[operator]
    first = Path(f"{docutils}/usr/bin/docutils").read_text().split("\n", 1)[0]
    assert first == f"#!{docutils}/declos-support/python/python3"
    pth = Path(f"{docutils}/declos-support/python/python3._pth").read_text().split("\n")
    assert f"{ipkgs['libpython3.11-stdlib']}/usr/lib/python3.11" in pth
    assert f"{docutils}/usr/lib/python3/dist-packages" in pth
    assert f"{ipkgs.python3_roman}/usr/lib/python3/dist-packages" in pth
    proc = _run([f"{docutils}/bin/docutils", "--version"])
    assert (proc.returncode, proc.stdout) == (
        0,
        "docutils (Docutils 0.19, Python 3.11.2, on linux)\n",
    ), proc.stderr
    out = subprocess.run(
        [f"{docutils}/bin/docutils"], input="Title\n=====\n\n*hi*\n", capture_output=True,
        text=True, timeout=120, env=ENV,
    )  # fmt: skip
    assert "<em>hi</em>" in out.stdout, out.stderr


def test_python3_with_packages_is_a_merged_environment(ipkgs: Pkgs, deb_store: Store) -> None:
    env = ipkgs.deb.python3.with_packages([ipkgs.python3_yaml, ipkgs.python3_docutils])
    deb_store.realise([env])
    code = "import yaml, docutils, sys; print(yaml.__with_libyaml__, yaml.__file__, docutils.__file__, sys.flags.isolated)"
    proc = _run([f"{env}/bin/python3", "-c", code])
    assert proc.returncode == 0, proc.stderr
    libyaml, yaml_file, docutils_file, isolated = proc.stdout.split()
    # the store's PyYAML (not the host's /usr/lib/python3/dist-packages one), with its
    # C extension loading libyaml from the store
    assert libyaml == "True" and isolated == "1"
    assert yaml_file.startswith(f"{ipkgs.python3_yaml}/usr/lib/python3/dist-packages/yaml/")
    assert docutils_file.startswith(str(ipkgs.python3_docutils))
    plain = _run([f"{ipkgs.deb.python3}/bin/python3", "-c", "import yaml"])
    assert "No module named 'yaml'" in plain.stderr
    with pytest.raises(Exception, match="with_packages is python3's"):
        ipkgs.cloc.with_packages([])


def test_substitutions_repoint_hard_coded_paths(ipkgs: Pkgs, deb_store: Store) -> None:
    docutils = ipkgs.python3_docutils  # built in: '/usr/share/docutils/' -> docutils-common
    deb_store.realise([docutils])
    init = Path(f"{docutils}/usr/lib/python3/dist-packages/docutils/__init__.py").read_text()
    assert f"'{ipkgs.docutils_common}/usr/share/docutils/'" in init
    assert "'/usr/share/docutils/'" not in init
    stale = ipkgs.cloc.override_attrs(lambda f, p: {"substitutions": {"/opt/cloc": "@out@/x"}})
    with pytest.raises(Exception, match="'/opt/cloc' found in no text file of the package"):
        deb_store.realise([stale])
    unknown = ipkgs.cloc.override_attrs(lambda f, p: {"substitutions": {"/usr/bin": "@nope@"}})
    with pytest.raises(Exception, match="wrapper refers to @nope@, which is not in the closure"):
        deb_store.realise([unknown])


@pytest.mark.parametrize("flags", ["-w", "-T"])
def test_perl_wrapper_with_and_without_taint_mode(tmp_path: Path, flags: str) -> None:
    """A script and a module in two trees (package, dependency), wrapped, run by the
    host's perl; taint mode ignores PERL5LIB, so that wrapper passes -I instead."""
    pkg, dep = tmp_path / "pkg", tmp_path / "dep"
    (pkg / "usr/bin").mkdir(parents=True)
    (dep / "usr/share/perl5").mkdir(parents=True)
    (dep / "usr/share/perl5/Hi.pm").write_text("package Hi; sub x { ${^TAINT} } 1;\n")
    script = pkg / "usr/bin/hi"
    script.write_text(f"#!/usr/bin/perl {flags}\nuse Hi; print Hi::x(), qq(\\n);\n")
    script.chmod(0o755)
    done = fix_scripts(str(pkg), str(pkg), [(str(dep), str(dep))], set())
    assert done == {"perl": ["usr/bin/hi"], "python": []}
    proc = _run([str(script)])
    assert (proc.returncode, proc.stdout) == (0, "1\n" if flags == "-T" else "0\n"), proc.stderr


def test_perl_scripts_outside_bin_dirs_only_in_the_dirs_given(tmp_path: Path) -> None:
    """munin's master programs live in usr/share/munin: fixed only when that directory
    is named (`DEFAULT_SCRIPT_DIRS`); other packages keep the bin directories alone."""
    pkg, dep = tmp_path / "pkg", tmp_path / "dep"
    (pkg / "usr/share/munin").mkdir(parents=True)
    (dep / "usr/share/perl5").mkdir(parents=True)
    (dep / "usr/share/perl5/Hi.pm").write_text("package Hi; sub x { 'hi' } 1;\n")
    script = pkg / "usr/share/munin/munin-update"
    script.write_text("#!/usr/bin/perl\nuse Hi; print Hi::x(), qq(\\n);\n")
    script.chmod(0o755)
    assert fix_scripts(str(pkg), str(pkg), [(str(dep), str(dep))], set()) == {
        "perl": [],
        "python": [],
    }
    dirs = (*BIN_DIRS, DEFAULT_SCRIPT_DIRS["munin"][0])
    done = fix_scripts(str(pkg), str(pkg), [(str(dep), str(dep))], set(), dirs)
    assert done == {"perl": ["usr/share/munin/munin-update"], "python": []}
    assert (pkg / "usr/share/munin/.munin-update-wrapped").is_file()
    proc = _run([str(script)])
    assert (proc.returncode, proc.stdout) == (0, "hi\n"), proc.stderr
