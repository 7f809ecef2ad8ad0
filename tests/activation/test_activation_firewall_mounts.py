"""Real nft in a private network namespace, real blkid/mkfs on an image file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from declos.activation import mounts
from declos.activation.closure import FileSystem

RULES = textwrap.dedent("""\
    table inet declos-fw
    delete table inet declos-fw
    table inet declos-fw {{
      chain input {{
        type filter hook input priority filter; policy drop;
        ct state vmap {{ invalid : drop, established : accept, related : accept, new : jump input-allow }}
      }}
      chain input-allow {{
        iifname "lo" accept
        tcp dport {{ {ports} }} accept
      }}
    }}
    """)

SCRIPT = textwrap.dedent("""\
    import subprocess, sys
    from pathlib import Path
    from declos.activation import firewall
    d = Path(sys.argv[1])
    def table():
        return subprocess.run(["nft", "list", "table", "inet", "declos-fw"], capture_output=True, text=True).stdout
    subprocess.run(["nft", "add", "table", "inet", "other"], check=True)
    print(firewall.table_present())
    print(firewall.apply(d / "v1.nft"))
    print("22, 80" in table())
    print(firewall.apply(d / "v2.nft"))
    t = table()
    print("22, 8080" in t, " 80 " in t)
    try:
        firewall.apply(d / "bad.nft")
    except firewall.FirewallError as exc:
        print("error:", str(exc).splitlines()[0])
    print("22, 8080" in table())
    print(firewall.apply(None))
    print(firewall.table_present())
    print("table inet other" in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout)
    """)


def test_firewall_table_replaced_atomically_in_netns(tmp_path: Path):
    (tmp_path / "v1.nft").write_text(RULES.format(ports="22, 80"))
    (tmp_path / "v2.nft").write_text(RULES.format(ports="22, 8080"))
    (tmp_path / "bad.nft").write_text(
        RULES.format(ports="22, 8080") + "table inet declos-fw { chain x { nonsense } }\n"
    )
    r = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "False",
        "loading firewall table inet declos-fw",
        "True",
        "loading firewall table inet declos-fw",
        "True False",
        f"error: nft -f {tmp_path / 'bad.nft'} failed:",
        "True",
        "removing firewall table inet declos-fw",
        "False",
        "True",
    ]


def test_auto_format_only_touches_an_empty_device(tmp_path: Path):
    img = tmp_path / "disk.img"
    with open(img, "wb") as f:
        f.truncate(16 * 1024 * 1024)
    fs = FileSystem(mount_point="/data", device=str(img), fs_type="ext4", auto_format=True)
    assert not mounts.has_filesystem(str(img))
    assert mounts.to_format([fs]) == [fs]
    assert mounts.format_device(fs) == f"formatting {img} as ext4 for /data"
    assert mounts.has_filesystem(str(img))
    assert mounts.to_format([fs]) == [], "a device with a filesystem is never formatted again"
    root = FileSystem(mount_point="/", device=str(img), fs_type="ext4", auto_format=True)
    assert mounts.to_format([root]) == []
