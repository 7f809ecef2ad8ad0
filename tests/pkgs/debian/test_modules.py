"""`security.wrappers` and `alternatives`: evaluated with the module system, the wrapper
activation snippet run for real (into a temporary wrapper dir) as Debian's postinst would."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from declos.config import evaluate
from declos.pkgs import Pkgs
from declos.store import Store


def _eval(tmp: Path, body: str, store: Store) -> object:
    f = tmp / "machine.py"
    f.write_text(body)
    return evaluate([str(f)], special_args={"pkgs": Pkgs(store)})


def test_wrappers_copy_with_owner_modes_and_capabilities(tmp_path: Path, store: Store) -> None:
    wrapper_dir = tmp_path / "wrappers"
    ev = _eval(
        tmp_path,
        "def config(config, pkgs, lib, options):\n"
        f"    return {{'security.wrapperDir': {str(wrapper_dir)!r}, 'security.wrappers': {{\n"
        "        'su2': {'source': '/bin/true', 'setuid': True, 'group': 'daemon'},\n"
        "        'pingish': {'source': '/bin/true', 'capabilities': 'cap_net_raw+ep'}}}\n",
        store,
    )
    text = ev.value("system.activationScripts")["wrappers"]["text"]  # type: ignore[attr-defined]
    etc = ev.value("environment.etc")  # type: ignore[attr-defined]
    assert etc["profile.d/wrappers-declos.sh"]["text"] == (
        f'export PATH="{wrapper_dir}/current/bin:$PATH"\n'
    )
    for _ in range(2):  # idempotent: a second activation replaces the generation
        subprocess.run(["bash", "-c", text], check=True)
    gens = [p for p in wrapper_dir.iterdir() if p.name.startswith("gen.")]
    assert len(gens) == 1 and os.readlink(wrapper_dir / "current") == str(gens[0])
    su2 = os.stat(wrapper_dir / "current/bin/su2")
    assert su2.st_mode & stat.S_ISUID and su2.st_uid == 0 and su2.st_gid == 1
    caps = subprocess.run(
        ["getcap", str(wrapper_dir / "current/bin/pingish")], capture_output=True, text=True
    ).stdout
    assert "cap_net_raw=ep" in caps


def test_alternatives_put_links_first_in_the_system_profile(tmp_path: Path, store: Store) -> None:
    ev = _eval(
        tmp_path,
        "def config(config, pkgs, lib, options):\n"
        "    return {'alternatives': {'nc': '/bin/true'},\n"
        "            'environment.systemPackages': [pkgs.write_text('x', 'y')]}\n",
        store,
    )
    packages = ev.value("environment.systemPackages")  # type: ignore[attr-defined]
    assert packages[0].name == "alternatives"
    store.realise([packages[0]])
    assert os.readlink(store.real_path(f"{packages[0]}/bin/nc")) == "/bin/true"
