"""Start a throw-away PostgreSQL server (``initdb`` + ``pg_ctl``) on a free loopback port.

Used by the test fixtures and the bench, beside the Prometheus and Alertmanager
launchers in ``inferwatch.stack``. Needs Debian's ``postgresql`` package
(``scripts/setup.sh`` installs it). PostgreSQL refuses to run as root, so when
we are root the server runs as the ``postgres`` user (``runuser``) in a
temporary directory that user owns. The data directory goes away on ``cleanup``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from inferwatch.stack import StackError, free_port


def find_pg_bin() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl`` (Debian keeps them off PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise StackError(
        "PostgreSQL's pg_ctl is not installed; run scripts/setup.sh "
        "(installs the Debian package postgresql)"
    )


@dataclass
class PostgresServer:
    """One PostgreSQL cluster with a trust-authenticated superuser on 127.0.0.1."""

    port: int = field(default_factory=free_port)
    user: str = "inferwatch"
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="inferwatch-pg-")))
    started: bool = False

    @property
    def _as_other_user(self) -> bool:
        return os.geteuid() == 0

    def _run(self, args: list[str], timeout: float = 60.0) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if self._as_other_user else args
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise StackError(f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}")

    @property
    def data_dir(self) -> Path:
        """The cluster's files."""
        return self.workdir / "data"

    def start(self) -> None:
        """initdb (once), then start the server and wait until it accepts connections."""
        bin_dir = find_pg_bin()
        if self._as_other_user:
            shutil.chown(self.workdir, user="postgres", group="postgres")
        if not self.data_dir.exists():
            self._run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.user,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ]
            )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.workdir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.workdir / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            timeout=90,
        )
        self.started = True

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for ``database`` on this server (psycopg 3)."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop fast; safe to call twice."""
        if self.started:
            self.started = False
            self._run(
                [str(find_pg_bin() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "stop"]
            )

    def cleanup(self) -> None:
        """Stop and delete the cluster."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
