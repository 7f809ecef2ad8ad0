"""The talk's nginx package in declos: built from Debian's upstream tarball (fetched from
the host's apt mirror, pinned by its SHA-256 as the talk's fetchurl is) with the locked
toolchain against the store's OpenSSL, zlib and PCRE2; it serves a request. Then the
talk's `nginx.override { openssl = ...; }`: the same function with bookworm's OpenSSL
(3.0.20; the default lock takes bookworm-security's 3.0.22) is built too, and runs
against that library.

The configure flags keep only what the test uses (ssl for OpenSSL, gzip for zlib,
rewrite for PCRE2 and `return`), so the two builds together cost less than the one
full build did."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from declos.pkgs import Pkgs
from declos.pkgs.debian.sources import host_sources
from declos.testing.driver import free_port

TARBALL = "pool/main/n/nginx/nginx_1.22.1.orig.tar.gz"
SHA256 = "9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31"
T = "usr/lib/x86_64-linux-gnu"
# Every http module nginx 1.22 builds by default except gzip, rewrite and the ones no
# flag can remove (core, log, static, index, ...), and the mail/stream-less defaults.
WITHOUT = (
    "charset ssi userid access auth_basic mirror autoindex geo map split_clients referer "
    "proxy fastcgi uwsgi scgi grpc memcached limit_conn limit_req empty_gif browser "
    "upstream_hash upstream_ip_hash upstream_least_conn upstream_random upstream_keepalive "
    "upstream_zone"
).split()
FLAGS = [
    "--with-http_ssl_module",
    *(f"--without-http_{m}_module" for m in WITHOUT),
    "--without-http-cache",
    # after nginx's own -O, so it wins: the test needs no optimised code (one word:
    # configureFlags are split at spaces, as nixpkgs' are)
    "--with-cc-opt=-O0",
]


def nginx(stdenv: Any, fetchurl: Any, openssl: Any, zlib: Any, pcre: Any) -> Any:
    """nginx.nix of the talk: `{ stdenv, fetchurl, openssl, zlib, pcre }`."""
    return stdenv.mk_derivation(
        "nginx",
        version="1.22.1",
        src=fetchurl(f"{host_sources()[0].uri}/{TARBALL}", SHA256),
        build_inputs=[openssl, zlib, pcre],
        configure_flags=FLAGS,
    )


def _version(out: str) -> str:
    run = subprocess.run([f"{out}/sbin/nginx", "-V"], env={}, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stderr


def _ldd(out: str) -> dict[str, str]:
    """soname -> the file the loader resolves it to."""
    text = subprocess.run(["ldd", f"{out}/sbin/nginx"], capture_output=True, text=True).stdout
    return dict(re.findall(r"^\s*(\S+) => (\S+) ", text, re.M))


def test_nginx_from_source_serves_and_overrides_openssl(
    build_pkgs: Pkgs, tmp_path: Path, serve_and_fetch: Callable[..., str]
) -> None:
    deb = build_pkgs.debian
    drv = build_pkgs.stdenv.call_package(
        nginx, openssl=deb["libssl-dev"], zlib=deb["zlib1g-dev"], pcre=deb["libpcre2-dev"]
    )
    # the talk's `pkgs.nginx.override { openssl = openssl101h; }`
    bookworm_ssl = deb["libssl-dev"].override(suite="bookworm")
    other = drv.override(openssl=bookworm_ssl)  # type: ignore[attr-defined]
    out, other_out = build_pkgs.realise(drv, other)
    assert other_out != out and other.out_path == other_out
    assert other_out.endswith("-nginx-1.22.1") and out.endswith("-nginx-1.22.1")

    libssl3 = deb["libssl3"].out_path
    old_ssl3 = deb.package("libssl3", suite="bookworm").out_path
    assert libssl3 != old_ssl3
    version = _version(out)
    assert "built by gcc 12.2.0 (Debian 12.2.0-14+deb12u1)" in version
    assert re.search(r"^built with OpenSSL 3\.0\.22 \d+ \w+ \d{4}$", version, re.M), version
    assert f"configure arguments: --prefix={out} {' '.join(FLAGS)}\n" in version
    libs = _ldd(out)
    assert libs["libssl.so.3"] == f"{libssl3}/{T}/libssl.so.3"
    assert libs["libcrypto.so.3"] == f"{libssl3}/{T}/libcrypto.so.3"
    assert libs["libz.so.1"].startswith(deb["zlib1g"].out_path + "/")
    assert libs["libpcre2-8.so.0"].startswith(deb["libpcre2-8-0"].out_path + "/")

    other_version = _version(other_out)
    assert re.search(r"^built with OpenSSL 3\.0\.20 \d+ \w+ \d{4}$", other_version, re.M)
    assert "running with" not in other_version  # links the OpenSSL it was built with
    other_libs = _ldd(other_out)
    assert other_libs["libssl.so.3"] == f"{old_ssl3}/{T}/libssl.so.3"
    assert other_libs["libcrypto.so.3"] == f"{old_ssl3}/{T}/libcrypto.so.3"
    assert other_libs["libz.so.1"] == libs["libz.so.1"]
    refs = build_pkgs.store.references(other_out)
    assert old_ssl3 in refs and libssl3 not in refs

    port = free_port()
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(
        "daemon off; error_log stderr; pid nginx.pid; events {}\n"
        f"http {{ access_log off; server {{ listen 127.0.0.1:{port}; "
        "location / { return 200 'nginx from source\\n'; } } }\n"
    )
    nginx_argv = [
        f"{other_out}/sbin/nginx",
        "-p",
        str(tmp_path),
        "-c",
        str(tmp_path / "nginx.conf"),
    ]
    assert serve_and_fetch(nginx_argv, port, env={}) == "nginx from source\n"
