"""A throwaway PostgreSQL server for tests and benchmarks (Debian's `postgresql` package).

`initdb` and `pg_ctl` run as the `postgres` user (PostgreSQL refuses root) in a private
directory under /tmp; the server listens on a unix socket only (`listen_addresses=''`):
no TCP port, nothing reachable from outside the machine. `url(db)` is a libpq URL for
`DECLOS_STATE`; `create_database(name)` makes an empty database.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from declos.testing.errors import MachineError


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise MachineError("PostgreSQL is not installed (Debian package postgresql)")
    return Path(found[-1]).parent


def _as_postgres(*argv: str) -> None:
    proc = subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise MachineError(f"{' '.join(argv[:2])} failed: {proc.stderr.strip()}")


class PostgresServer:
    """`with PostgresServer() as pg:` a running server; stopped and removed afterwards."""

    def __init__(self, superuser: str = "declos") -> None:
        self.superuser = superuser
        self.top = Path(tempfile.mkdtemp(prefix="declos-pg-"))
        self.socket_dir = self.top / "sock"
        self.data = self.top / "data"
        self.bindir = _bindir()

    def __enter__(self) -> PostgresServer:
        self.top.chmod(0o755)
        shutil.chown(self.top, "postgres", "postgres")
        _as_postgres("mkdir", str(self.socket_dir))
        _as_postgres(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.superuser,
            "--auth=trust", "-E", "UTF8",
        )  # fmt: skip
        opts = f"-c listen_addresses='' -k {self.socket_dir} -c fsync=off"
        _as_postgres(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts,
            "-l", str(self.top / "log"), "-w", "start",
        )  # fmt: skip
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            _as_postgres(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
            )
        finally:
            shutil.rmtree(self.top, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql:///{database}?host={self.socket_dir}&user={self.superuser}"

    def create_database(self, name: str) -> str:
        """An empty database; returns its URL."""
        import psycopg  # the optional dependency of PostgreSQL state

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'create database "{name}"'.encode())
        return self.url(name)
