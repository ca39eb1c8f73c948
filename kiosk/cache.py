"""The broadcast cache: notices for everyone, the sync cursor and ETag, kept so the kiosk serves offline.

Holds nothing personal. A corrupt file is set aside and the cache rebuilt by the next sync.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from kiosk.notices import Audience, Notice
from kiosk.storage import Store

log = logging.getLogger(__name__)

STALE_AFTER_S = 24 * 3600  # the seeds' data-delay threshold
# A notice is kept as the fields it was validated into, not as its JSON: encoding each notice's JSON for the
# file and parsing and validating it again on every start were half of a first sync's and a start's Python.
# Version 2 is this table; a file of version 1 (one JSON column) has its notices synced again from the start.
SCHEMA_VERSION = 2
NOTICE_TABLE = """
CREATE TABLE IF NOT EXISTS notice (
    id TEXT PRIMARY KEY, version INTEGER NOT NULL, category TEXT NOT NULL, priority TEXT NOT NULL,
    title TEXT NOT NULL, body TEXT NOT NULL, speak TEXT NOT NULL, valid_from TEXT NOT NULL, valid_until TEXT NOT NULL,
    deadline TEXT, min_age INTEGER, max_age INTEGER, regions TEXT, action_url TEXT NOT NULL
)"""
NOTICE_COLUMNS = (
    "id, version, category, priority, title, body, speak, valid_from, valid_until, deadline, "
    "min_age, max_age, regions, action_url"
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reload_seen (id TEXT PRIMARY KEY);
"""


def is_stale(last_sync: float | None, now: float | None = None) -> bool:
    """No sync for more than a day (or never): the screens say the notices may be out of date."""
    return last_sync is None or (now if now is not None else time.time()) - last_sync > STALE_AFTER_S


def notice_row(notice: Notice, sent: dict) -> tuple:
    """A broadcast notice as a row of the notice table: its times as the backend sent them (they parsed, and
    writing them out again was a tenth of a sync), its audience as three columns, regions joined by ","."""
    audience = notice.audience
    return (
        notice.id, notice.version, notice.category, notice.priority, notice.title, notice.body, notice.speak,
        sent["valid_from"], sent["valid_until"], sent["deadline"] if notice.deadline else None,
        *((audience.min_age, audience.max_age, ",".join(audience.regions)) if audience else (None, None, None)),
        notice.action_url,
    )  # fmt: skip


def row_notice(row: tuple) -> Notice:
    """The notice a row holds. Raises ValueError or TypeError for a row no sync wrote (a damaged file)."""
    notice_id, version, category, priority, title, body, speak, start, end, deadline, low, high, regions, url = row
    return Notice(
        id=notice_id, version=version, category=category, priority=priority, title=title, body=body, speak=speak,
        valid_from=datetime.fromisoformat(start), valid_until=datetime.fromisoformat(end),
        deadline=date.fromisoformat(deadline) if deadline else None,
        audience=None if regions is None else Audience(low, high, tuple(regions.split(",")) if regions else ()),
        action_url=url,
    )  # fmt: skip


class BroadcastCache(Store):
    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)
        # Each page commits with its cursor, so a power cut can only lose the last pages, which the next sync
        # asks for again: no fsync a page (FULL is for receipts, which the kiosk promised it kept).
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.rebuilt = self.aside is not None  # the next sync starts from the beginning
        if self.query("PRAGMA user_version")[0][0] != SCHEMA_VERSION:
            self._make_notice_table()
        # The notices in memory, kept in step with our own writes: reading 10,000 again after every sync
        # took 0.6 s of Python. Reread when another connection (`kiosk sync`) has changed the file.
        self._parsed: dict[str, Notice] | None = None
        self._data_version = 0

    def notices(self) -> list[Notice]:
        with self._lock:
            version = self.query("PRAGMA data_version")[0][0]
            if self._parsed is None or version != self._data_version:
                self._parsed, self._data_version = self._read(), version
            return list(self._parsed.values())

    def _make_notice_table(self) -> None:
        """A new file, or one an older kiosk wrote: the notice table as this version keeps it, synced afresh."""
        with self.transaction() as db:
            db.execute("DROP TABLE IF EXISTS notice")
            db.execute(NOTICE_TABLE)
            db.execute("DELETE FROM meta WHERE key IN ('cursor', 'etag')")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.rebuilt = True

    def _read(self) -> dict[str, Notice]:
        out = {}
        for row in self.query(f"SELECT {NOTICE_COLUMNS} FROM notice"):
            try:
                notice = row_notice(row)
            except (ValueError, TypeError, AttributeError) as e:
                log.warning("cached notice %r unreadable (%s); dropped", str(row[0])[:64], type(e).__name__)
                continue
            out[notice.id] = notice
        return out

    def apply_page(
        self, upserts: Iterable[tuple[Notice, dict]], deleted: Iterable[str], cursor: str
    ) -> tuple[int, int, int]:
        """One page of a sync, atomically with its cursor. Returns (new, updated, deleted)."""
        new = updated = removed = 0
        written: list[Notice] = []
        gone: list[str] = []
        upserts = list(upserts)
        with self.transaction() as db:
            ids = [notice.id for notice, _ in upserts]
            known: dict[str, int] = {}
            for start in range(0, len(ids), 900):  # one query a slice (SQLite's variable limit), not one a notice
                chunk = ids[start : start + 900]
                marks = ",".join("?" * len(chunk))
                known.update(db.execute(f"SELECT id, version FROM notice WHERE id IN ({marks})", chunk).fetchall())
            rows = []
            for notice, sent in upserts:
                before = known.get(notice.id)
                if before is not None and before >= notice.version:
                    continue
                known[notice.id] = notice.version  # a page naming one notice twice keeps its newest
                rows.append(notice_row(notice, sent))
                written.append(notice)
                if before is None:
                    new += 1
                else:
                    updated += 1
            db.executemany(f"INSERT OR REPLACE INTO notice ({NOTICE_COLUMNS}) VALUES ({', '.join('?' * 14)})", rows)
            for notice_id in deleted:
                count = db.execute("DELETE FROM notice WHERE id = ?", (notice_id,)).rowcount
                removed += count
                if count:
                    gone.append(notice_id)
            if self.reloading:
                db.executemany("INSERT OR IGNORE INTO reload_seen VALUES (?)", [(n.id,) for n, _ in upserts])
            db.execute("INSERT OR REPLACE INTO meta VALUES ('cursor', ?)", (cursor,))
        self._follow(written, gone)
        return new, updated, removed

    def _follow(self, written: list[Notice], gone: list[str]) -> None:
        """The notices in memory follow what was just committed."""
        with self._lock:
            if self._parsed is not None:
                self._parsed.update((n.id, n) for n in written)
                for notice_id in gone:
                    self._parsed.pop(notice_id, None)

    def start_reload(self) -> None:
        """The backend forgot our cursor: sync everything again from the beginning, keeping the old notices
        on screen until the new set is complete (an interrupted reload starts over next time)."""
        with self.transaction() as db:
            db.execute("DELETE FROM reload_seen")
            db.execute("DELETE FROM meta WHERE key IN ('cursor', 'etag')")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('reloading', '1')")

    @property
    def reloading(self) -> bool:
        return self._meta("reloading") == "1"

    def finish_reload(self) -> int:
        """The full set is in: drop what it did not contain. Returns how many were dropped."""
        with self.transaction() as db:
            dropped = db.execute("DELETE FROM notice WHERE id NOT IN (SELECT id FROM reload_seen)").rowcount
            db.execute("DELETE FROM reload_seen")
            db.execute("DELETE FROM meta WHERE key = 'reloading'")
        if dropped:
            with self._lock:
                self._parsed = None  # read afresh: a full reload is rare
        return dropped

    def synced(self, etag: str | None, at: float | None = None) -> None:
        """A sync reached the newest state: remember its ETag and when."""
        with self.transaction() as db:
            if etag is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('etag', ?)", (etag,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('last_sync', ?)", (str(at if at else time.time()),))

    def _meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    @property
    def cursor(self) -> str | None:
        return self._meta("cursor")

    @property
    def etag(self) -> str | None:
        return self._meta("etag")

    @property
    def last_sync(self) -> float | None:
        value = self._meta("last_sync")
        return float(value) if value else None

    def stale(self, now: float | None = None) -> bool:
        return is_stale(self.last_sync, now)


class CachedNotices:
    """The broadcast cache as the kiosk's window process reads it: read-only, while the network worker
    (kiosk/network_worker.py) writes it. A file not made yet, or one the worker is setting aside, reads as empty
    until the worker says it is ready."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._held: list[Notice] = []

    def _query(self, sql: str) -> list[tuple]:
        if self._db is None:
            if not self.path.exists():
                return []
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, timeout=10)
        try:
            return self._db.execute(sql).fetchall()
        except sqlite3.DatabaseError as e:  # replaced under us (set aside when corrupt): open it again next time
            log.warning("the broadcast cache cannot be read (%s); reading it again after the next sync", e)
            self._db.close()
            self._db = None
            return []

    def reload(self) -> list[Notice]:
        """The notices as the worker last committed them (after it said they changed). Opened afresh: a file the
        worker set aside and made again is another file, which an open connection would not see."""
        self.close()
        notices = []
        for row in self._query(f"SELECT {NOTICE_COLUMNS} FROM notice"):
            try:
                notices.append(row_notice(row))
            except (ValueError, TypeError, AttributeError):
                continue  # the worker, which wrote it, says which (BroadcastCache._read)
        self._held = notices
        return notices

    def notices(self) -> list[Notice]:
        return self._held

    @property
    def last_sync(self) -> float | None:
        rows = self._query("SELECT value FROM meta WHERE key = 'last_sync'")
        return float(rows[0][0]) if rows else None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
