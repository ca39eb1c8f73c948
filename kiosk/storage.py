"""SQLite files in the data dir: opened durably, checked, and set aside (never silently deleted) when corrupt."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


def connect(path: Path, schema: str) -> tuple[sqlite3.Connection, Path | None]:
    """The database at `path` with `schema` applied; a corrupt file is renamed aside and a fresh one made.

    Returns the connection and the path of the set-aside file, if there was one (so the caller
    can salvage from it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _open(path, schema), None
    except sqlite3.DatabaseError as e:
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        log.error("%s is corrupt (%s); set aside as %s and starting afresh", path.name, e, aside.name)
        path.replace(aside)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                path.with_name(path.name + suffix).replace(aside.with_name(aside.name + suffix))
        return _open(path, schema), aside


def _open(path: Path, schema: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a receipt the kiosk said it kept survives a power cut
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("quick_check failed")
        db.executescript(schema)
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db


def salvage_rows(aside: Path, query: str) -> list[tuple]:
    """Whatever rows of a corrupt database can still be read, one by one."""
    rows: list[tuple] = []
    try:
        db = sqlite3.connect(f"file:{aside}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return rows
    try:
        cursor = db.execute(query)
        while True:
            try:
                row = cursor.fetchone()
            except sqlite3.DatabaseError:
                break
            if row is None:
                break
            rows.append(row)
    except sqlite3.DatabaseError:
        pass
    finally:
        db.close()
    return rows


class Store:
    """One SQLite file shared by the kiosk's threads: every statement under one lock, writes in transactions."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        self.db, self.aside = connect(path, schema)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:  # also when COMMIT itself failed (a full disk): never left open
                    self.db.execute("ROLLBACK")
                raise

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self.db.execute(sql, params).fetchall()
