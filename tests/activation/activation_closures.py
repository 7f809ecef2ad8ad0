"""Hand-made system closures matching docs/closure.md, for activating into tmp roots.

Independent of declos/system on purpose: these tests pin the contract from the
activator's side. Store paths are logical (/declos/store/...) and live under ROOT.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

STORE = "/declos/store"
ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"


def fake_hash(seed: str) -> str:
    d = hashlib.sha256(seed.encode()).digest()
    return "".join(ALPHABET[b % 32] for b in d[:32])


ACTIVATE = """#!/bin/sh
top=$(dirname "$(readlink -f "$0")")
PYTHONPATH="$top/activator/lib" exec python3 -P -m declos.activation --system "$top" "$@"
"""


class ClosureMaker:
    def __init__(self, root: Path, with_activator: bool = False) -> None:
        self.root = root
        self.activator = f"{STORE}/{fake_hash('activator')}-declos-activator"
        if with_activator:
            self._copy_activator()

    def _copy_activator(self) -> None:
        """The activator store path: declos/activation, declos/common + jeepney, sources only."""
        import shutil

        import jeepney

        import declos

        lib = self.phys(self.activator) / "lib"
        if lib.exists():
            return
        src = Path(declos.__file__).parent
        (lib / "declos").mkdir(parents=True)
        shutil.copy(src / "__init__.py", lib / "declos")
        skip = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(src / "activation", lib / "declos" / "activation", ignore=skip)
        shutil.copytree(src / "common", lib / "declos" / "common", ignore=skip)
        shutil.copytree(Path(jeepney.__file__).parent, lib / "jeepney", ignore=skip)

    def phys(self, logical: str) -> Path:
        return self.root / logical.lstrip("/")

    def text(self, name: str, text: str) -> str:
        path = f"{STORE}/{fake_hash(name + text)}-{name}"
        p = self.phys(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists():
            p.write_text(text)
        return path

    def system(
        self,
        *,
        hostname: str = "host1",
        time_zone: str | None = None,
        etc: dict[str, Any] | None = None,
        units: dict[str, str] | None = None,
        wanted_by: dict[str, list[str]] | None = None,
        users: dict[str, Any] | None = None,
        groups: dict[str, Any] | None = None,
        firewall: str | None = None,
        grub: dict[str, Any] | None = None,
        kernel_params: list[str] | None = None,
        scripts: dict[str, str] | None = None,
        dropins: dict[str, dict[str, str]] | None = None,
        file_systems: list[dict[str, Any]] | None = None,
        tmpfiles: str | None = None,
    ) -> str:
        """Build TOP; etc values are text or {"text", "mode", "user", "group", "replaceExisting"}."""
        etc = etc or {}
        units = units or {}
        spec = json.dumps(
            [
                hostname,
                time_zone,
                etc,
                units,
                wanted_by,
                users,
                groups,
                firewall,
                grub,
                kernel_params,
                scripts,
                dropins,
                file_systems,
                tmpfiles,
            ],
            sort_keys=True,
        )
        top = f"{STORE}/{fake_hash(spec)}-declos-system-{hostname}"
        t = self.phys(top)
        if t.exists():
            return top
        t.mkdir(parents=True)
        entries = []
        for target, v in sorted(etc.items()):
            v = {"text": v} if isinstance(v, str) else dict(v)
            src = self.text("etc-" + target.replace("/", "-"), v["text"])
            link = t / "etc" / target
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(src, link)
            entries.append(
                {
                    "target": target,
                    "source": src,
                    "mode": v.get("mode", "symlink"),
                    "user": v.get("user", "root"),
                    "group": v.get("group", "root"),
                    "replaceExisting": v.get("replaceExisting", False),
                }
            )
        (t / "units").mkdir()
        for name, text in sorted(units.items()):
            (t / "units" / name).write_text(text)
        for name, files in sorted((dropins or {}).items()):
            (t / "units" / f"{name}.d").mkdir()
            for fname, text in files.items():
                (t / "units" / f"{name}.d" / fname).write_text(text)
        for target, names in sorted((wanted_by or {}).items()):
            d = t / "units" / f"{target}.wants"
            d.mkdir()
            for n in names:
                os.symlink(f"../{n}", d / n)
        if firewall is not None:
            (t / "firewall.nft").write_text(firewall)
        script_list = []
        for name, body in (scripts or {}).items():
            p = self.text(f"activation-script-{name}", "#!/bin/sh\nset -e\n" + body)
            os.chmod(self.phys(p), 0o555)
            script_list.append({"name": name, "path": p})
        meta = {
            "format": 1,
            "hostname": hostname,
            "timeZone": time_zone,
            "activator": self.activator,
            "sw": f"{STORE}/{fake_hash('sw')}-system-path",
            "environment": {"variables": {}},
            "etc": entries,
            "units": {"names": sorted(units)},
            "users": {"users": users or {}, "groups": groups or {}},
            "firewall": {"table": "inet declos-fw"} if firewall else None,
            "fileSystems": file_systems or [],
            "swapDevices": [],
            "boot": {
                "kernelParams": kernel_params or [],
                "kernel": None,
                "initrd": None,
                "grub": grub
                or {"enable": False, "device": None, "configurationLimit": 100, "extraEntries": ""},
            },
            "activationScripts": script_list,
            "tmpfiles": self.text("tmpfiles.conf", tmpfiles) if tmpfiles else None,
        }
        (t / "system.json").write_text(json.dumps(meta, indent=1))
        (t / "activate").write_text(ACTIVATE)
        os.chmod(t / "activate", 0o555)
        os.symlink(self.activator, t / "activator")
        (t / "config.json").write_text("{}\n")
        return top


def base_root(root: Path) -> None:
    """A minimal Debian-like /etc: root, nogroup and users exist already."""
    etc = root / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (etc / "group").write_text("root:x:0:\nusers:x:100:\nnogroup:x:65534:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\nusers:*::\nnogroup:*::\n")
    os.chmod(etc / "shadow", 0o640)
    os.chmod(etc / "gshadow", 0o640)
    (etc / "hostname").write_text("debian\n")
    (etc / "motd").write_text("Debian motd\n")


def snapshot(root: Path) -> dict[str, Any]:
    """Every path under root with its type and content/target/mode, for exact comparisons
    (except the lock file, whose content is the pid of its last holder)."""
    out: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            if rel == "declos/var/activation/lock":
                continue  # holds the last holder's pid, by design
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir", oct(p.stat().st_mode & 0o7777))
            else:
                out[rel] = ("file", oct(p.stat().st_mode & 0o7777), p.read_bytes())
    return out


def install_shell(root: Path) -> None:
    """Make the tree able to run `#!/bin/sh` scripts chrooted: the host's /bin/sh and
    the libraries `ldd` names, copied to the same paths inside the tree."""
    import re
    import shutil
    import subprocess

    sh = os.path.realpath("/bin/sh")
    out = subprocess.run(["ldd", sh], capture_output=True, text=True, check=True).stdout
    files = [sh, *re.findall(r"(/\S+) \(0x", out)]
    for f in files:
        dest = root / f.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(f), dest)
    (root / "bin").mkdir(exist_ok=True)
    if not os.path.lexists(root / "bin" / "sh"):
        shutil.copy2(sh, root / "bin" / "sh")
