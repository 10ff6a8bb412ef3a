"""A real PostgreSQL server for tests: a throwaway cluster in a temporary folder, on a free loopback port.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user (created by the Debian
package) and its commands run through runuser.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def require_postgres() -> Path:
    folder = postgres_bin()
    if folder is not None:
        return folder
    message = "PostgreSQL server not found: install the Debian package 'postgresql' (apt-get install postgresql)"
    if os.environ.get("AGENTDESK_REQUIRE_SERVERS") == "1":
        pytest.fail(f"AGENTDESK_REQUIRE_SERVERS=1 but {message}")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def run_postgres() -> Iterator[str]:
    """Yields a SQLAlchemy URL (user agentdesk, database agentdesk, no password: trust on loopback)."""
    binaries = require_postgres()
    folder = Path(tempfile.mkdtemp(prefix="agentdesk-pg-"))
    data = folder / "data"
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def run(*command: str) -> None:
        subprocess.run([*as_owner, *command], check=True, capture_output=True, timeout=60)

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "agentdesk", "--no-sync")
        run(
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "server.log"),
            "-w",
            "-t",
            "30",
            "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        try:
            run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "agentdesk", "agentdesk")
            yield f"postgresql+psycopg://agentdesk@127.0.0.1:{port}/agentdesk"
        finally:
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
