"""Format primitives: Nix base32, hash parsing, names, ATerm round trip, NAR reader checks."""

from __future__ import annotations

import hashlib
import io

import pytest

from declos.store import Derivation, Store, StoreError
from declos.store.derivation import StringContext, parse_drv
from declos.store.nar import NarReader, dump_bytes, nstr
from declos.store.paths import check_name, compress_hash, nix32_decode, nix32_encode, parse_hash


def test_nix32_known_vectors() -> None:
    # `nix-hash --type sha256 --to-base32` of sha256("") and of sha256("abc")
    assert (
        nix32_encode(hashlib.sha256(b"").digest())
        == "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"
    )
    assert (
        nix32_encode(hashlib.sha256(b"abc").digest())
        == "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s"
    )
    for n in (1, 5, 20, 32):
        data = bytes(range(n))
        assert nix32_decode(nix32_encode(data)) == data
    with pytest.raises(StoreError, match="invalid character 'e'"):
        nix32_decode("e" * 52)


def test_compress_and_parse_hash() -> None:
    digest = bytes(range(32))
    folded = compress_hash(digest)
    assert len(folded) == 20 and folded[0] == 0 ^ 20 and folded[12] == 12
    hex_ = hashlib.sha256(b"x").hexdigest()
    n32 = nix32_encode(hashlib.sha256(b"x").digest())
    import base64

    b64 = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    assert parse_hash(hex_) == parse_hash("sha256:" + n32) == parse_hash("sha256-" + b64) == hex_
    with pytest.raises(StoreError, match="not a valid sha256 hash"):
        parse_hash("abc")


@pytest.mark.parametrize("name", ["", ".", "..", ".-x", "..-y", "a/b", "a b", "x" * 212, "ä"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(StoreError):
        check_name(name)


def test_valid_names() -> None:
    for name in ("a", "...", ".x", "a+b-c.d_e?f=g", "x" * 211, "-leading-dash"):
        check_name(name)


def test_aterm_round_trip_through_the_store(store: Store) -> None:
    ctx = StringContext()
    dep = Derivation("dep", "/bin/sh", ["-c", "x"], outputs=["out", "lib"], context=ctx)
    fod = Derivation(
        "f",
        "/bin/sh",
        [],
        {"u": "v"},
        output_hash=hashlib.sha256(b"").hexdigest(),
        output_hash_algo="sha256",
        output_hash_mode="recursive",
        context=ctx,
    )
    top = Derivation(
        "top", "/bin/sh", ["-c", f'echo "{dep["lib"]}" {fod}\n\t\\'], {"K": 'q"uote'}, context=ctx
    )
    store.write_derivation(top)
    loaded = store.load_derivation(top.drv_path)
    assert loaded.aterm == top.aterm and loaded.out_path == top.out_path
    data = parse_drv(top.aterm)
    assert data["args"] == ["-c", f'echo "{dep["lib"]}" {fod}\n\t\\']
    assert data["inputDrvs"] == {dep.drv_path: ["lib"], fod.drv_path: ["out"]}
    with pytest.raises(StoreError, match="bad derivation at offset 0"):
        parse_drv("Derivx(")


def test_nar_reader_rejects_corruption(tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "d"
    d.mkdir()
    (d / "a").write_text("A")
    (d / "b").write_text("B")
    good = dump_bytes(d)
    swapped = good.replace(nstr(b"a"), nstr(b"c"))  # entries now out of order
    with pytest.raises(StoreError, match="unsorted"):
        NarReader(io.BytesIO(swapped)).restore(str(tmp_path / "out1"))
    with pytest.raises(StoreError, match="ended early"):
        NarReader(io.BytesIO(good[:-9])).restore(str(tmp_path / "out2"))
    with pytest.raises(StoreError, match="expected b'nix-archive-1'"):
        NarReader(io.BytesIO(nstr(b"tar-archive") + good[24:])).restore(str(tmp_path / "out3"))
