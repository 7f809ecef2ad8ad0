"""An sdist built in the sandbox against C libraries from the store (the talk's Pillow
question, answered with PyYAML and libyaml: the same mechanism, a smaller build)."""

from __future__ import annotations

import subprocess

from declos.pkgs import Pkgs

T = "usr/lib/x86_64-linux-gnu"
CHECK = "import yaml, yaml._yaml; print(yaml.__with_libyaml__, yaml._yaml.__file__)"


def test_sdist_links_the_stores_libyaml_and_imports(build_pkgs: Pkgs) -> None:
    py = build_pkgs.python3
    assert py.lock.get("pyyaml").wheels == ()  # locked as an sdist only
    pyyaml = py.dist(
        "pyyaml",
        sdist=True,
        build_inputs=[build_pkgs.debian["libyaml-dev"]],
        build_requires=["setuptools", "wheel", "cython"],
        env={"PYYAML_FORCE_LIBYAML": "1", "PYYAML_FORCE_CYTHON": "1"},
    )
    env = py.with_packages([pyyaml])
    [out] = build_pkgs.realise(env)
    r = subprocess.run([f"{out}/bin/python", "-c", CHECK], env={}, capture_output=True, text=True)
    so = f"{out}/lib/python3.11/site-packages/yaml/_yaml.cpython-311-x86_64-linux-gnu.so"
    assert (r.returncode, r.stdout) == (0, f"True {so}\n"), r.stderr
    trace = subprocess.run(
        [f"{out}/bin/python", "-c", "import yaml._yaml"],
        env={"LD_TRACE_LOADED_OBJECTS": "1"},
        capture_output=True,
        text=True,
    )
    assert trace.returncode == 0
    ldd = subprocess.run(["ldd", so], capture_output=True, text=True).stdout
    libyaml = build_pkgs.debian["libyaml-0-2"].out_path
    # the host has libyaml too; the extension loads the store's
    assert f"libyaml-0.so.2 => {libyaml}/{T}/libyaml-0.so.2 " in ldd
    assert libyaml in build_pkgs.store.references(pyyaml.out_path)
