"""The talk's nginx package in declos: built from Debian's upstream tarball (fetched from
the host's apt mirror, pinned by its SHA-256 as the talk's fetchurl is) with the locked
toolchain against the store's OpenSSL, zlib and PCRE2; it serves a request; overriding
its OpenSSL input gives another package."""

from __future__ import annotations

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


def nginx(stdenv: Any, fetchurl: Any, libssl_dev: Any, zlib1g_dev: Any, libpcre2_dev: Any) -> Any:
    """nginx.nix of the talk: inputs by name, so `override(libssl_dev=...)` works."""
    return stdenv.mk_derivation(
        "nginx",
        version="1.22.1",
        src=fetchurl(f"{host_sources()[0].uri}/{TARBALL}", SHA256),
        build_inputs=[libssl_dev, zlib1g_dev, libpcre2_dev],
        configure_flags=["--with-http_ssl_module", "--with-http_v2_module"],
    )


def test_nginx_from_source_serves_and_overrides(
    build_pkgs: Pkgs, tmp_path: Path, serve_and_fetch: Callable[..., str]
) -> None:
    drv = build_pkgs.stdenv.call_package(nginx)
    [out] = build_pkgs.realise(drv)
    version = subprocess.run([f"{out}/sbin/nginx", "-V"], env={}, capture_output=True, text=True)
    assert version.returncode == 0
    assert "built by gcc 12.2.0 (Debian 12.2.0-14+deb12u1)" in version.stderr
    assert (
        f"configure arguments: --prefix={out} --with-http_ssl_module --with-http_v2_module\n"
        in version.stderr
    )
    libssl3 = build_pkgs.debian["libssl3"].out_path
    ldd = subprocess.run(["ldd", f"{out}/sbin/nginx"], capture_output=True, text=True).stdout
    assert f"libssl.so.3 => {libssl3}/{T}/libssl.so.3 " in ldd
    port = free_port()
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(
        "daemon off; error_log stderr; pid nginx.pid; events {}\n"
        f"http {{ access_log off; server {{ listen 127.0.0.1:{port}; "
        "location / { return 200 'nginx from source\\n'; } } }\n"
    )
    nginx_argv = [f"{out}/sbin/nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    body = serve_and_fetch(nginx_argv, port, env={})
    assert body == "nginx from source\n"
    other = drv.override(libssl_dev=build_pkgs.debian.package("libssl-dev", hermetic=True))  # type: ignore[attr-defined]
    hermetic_ssl = build_pkgs.debian.package("libssl3", hermetic=True).out_path
    assert other.out_path != out
    assert hermetic_ssl in [d.out_path for d in other.runtime_inputs]
