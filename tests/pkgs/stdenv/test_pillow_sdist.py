"""The talk's "non-Python dependencies" example: Pillow built from its sdist in the
sandbox against the store's libjpeg, zlib and FreeType (Debian -dev packages from the
lock), one store path, and used with the host's copies of those libraries hidden.

The host has libjpeg-dev, zlib1g-dev and libfreetype-dev installed; Pillow's setup.py
would find them in /usr (platform guessing, ldconfig's directories), so the build gets
`platform-guessing=disable` (PEP 517 config settings) and finds the store's through
pkg-config. The check runs in a mount namespace where the host's libjpeg, FreeType and
libpng files are /dev/null: a load of any of them would fail. zlib cannot be hidden
that way (the host's python3.11 itself links libz.so.1, so the loader reuses the copy
already loaded); the extension's own RUNPATH lookup of it is checked with ldd.
"""

from __future__ import annotations

import glob
import shlex
import subprocess
from pathlib import Path

from declos.pkgs import Pkgs

T = "usr/lib/x86_64-linux-gnu"
HIDDEN = ("libjpeg.so.62*", "libfreetype.so.6*", "libpng16.so.16*")
# Draw text with FreeType (Pillow's default font is a TrueType font when FreeType is
# there), write it as a JPEG, open it again and decode it with libjpeg.
SCRIPT = """
import sys
from PIL import Image, ImageDraw, ImageFont, features
im = Image.new("L", (96, 32), 255)
ImageDraw.Draw(im).text((4, 4), "declos", fill=0, font=ImageFont.load_default(size=20))
im.save(sys.argv[1], "JPEG", quality=95)
with Image.open(sys.argv[1]) as jpeg:
    jpeg.load()
    dark = sum(1 for v in jpeg.getdata() if v < 128)
    print(jpeg.format, jpeg.size, jpeg.mode, dark > 50)
print(type(ImageFont.load_default(size=20)).__name__, features.check("jpg"), features.check("zlib"))
"""


def test_pillow_from_sdist_uses_the_stores_libraries(build_pkgs: Pkgs, tmp_path: Path) -> None:
    py = build_pkgs.python3
    deb = build_pkgs.debian
    assert py.lock.get("pillow").wheels == ()  # locked as an sdist only
    pillow = py.dist(
        "pillow",
        sdist=True,
        build_inputs=[deb["libjpeg62-turbo-dev"], deb["zlib1g-dev"], deb["libfreetype-dev"]],
        build_requires=["setuptools"],
        config_settings={"platform-guessing": "disable"},
        env={"CFLAGS": "-g0"},  # no debug information: a third less compile time
    )
    [out] = build_pkgs.realise(py.with_packages([pillow]))
    hidden = sorted(f for g in HIDDEN for f in glob.glob(f"/{T}/{g}"))
    assert len(hidden) >= 3, hidden  # the host has them: hiding proves something
    mounts = "".join(f"mount --bind /dev/null {shlex.quote(f)}; " for f in hidden)
    jpeg = tmp_path / "out.jpg"
    run = f'{mounts}exec "$0" -c "$1" "$2"'
    r = subprocess.run(
        ["unshare", "-rm", "sh", "-ec", run, f"{out}/bin/python", SCRIPT, str(jpeg)],
        env={},
        capture_output=True,
        text=True,
    )
    assert (r.returncode, r.stdout) == (0, "JPEG (96, 32) L True\nFreeTypeFont True True\n"), (
        r.stderr
    )
    assert jpeg.read_bytes()[:3] == b"\xff\xd8\xff"
    [imaging] = glob.glob(
        f"{pillow.out_path}/lib/python3.11/site-packages/PIL/_imaging.cpython-*.so"
    )
    [imagingft] = glob.glob(
        f"{pillow.out_path}/lib/python3.11/site-packages/PIL/_imagingft.cpython-*.so"
    )
    ldd = subprocess.run(["ldd", imaging, imagingft], capture_output=True, text=True).stdout
    for lib, pkg in (
        ("libjpeg.so.62", "libjpeg62-turbo"),
        ("libz.so.1", "zlib1g"),
        ("libfreetype.so.6", "libfreetype6"),
    ):
        assert f"{lib} => {deb[pkg].out_path}/{T}/{lib} " in ldd, ldd
        assert deb[pkg].out_path in build_pkgs.store.references(pillow.out_path)
