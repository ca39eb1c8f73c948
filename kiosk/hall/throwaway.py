"""A PostgreSQL server of one's own for a test or a bench: initdb in a temporary folder, a Unix socket only,
stopped and removed again. Debian's `postgresql` package provides the programs; nothing else on the machine
is touched (the system's own cluster, if any, is never started or stopped)."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def postgres_programs() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    return next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A running PostgreSQL (fsync on, as in a hall); yields its address for HallStore / psycopg."""
    programs = postgres_programs()
    if programs is None:
        raise RuntimeError("PostgreSQL is missing: ./bootstrap test installs Debian's postgresql")
    folder = Path(tempfile.mkdtemp(prefix="ss-kiosk-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: its own account runs it
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", 5500 + secrets.randbelow(400)
    subprocess.run([*as_user, str(programs / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"], check=True, capture_output=True)  # fmt: skip
    options = f"-k {folder} -p {port} -c listen_addresses='' -c fsync=on"
    subprocess.run([*as_user, str(programs / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l",
                    str(folder / "log"), "start"], check=True, capture_output=True)  # fmt: skip
    try:
        yield f"postgresql://postgres@/postgres?host={folder}&port={port}"
    finally:
        subprocess.run([*as_user, str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server: str) -> str:
    """A new empty database on that server; its address."""
    import psycopg

    name = f"hall_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return server.replace("/postgres?", f"/{name}?")
